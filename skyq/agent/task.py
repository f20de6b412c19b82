"""What an engine is given (AgentTask) and what it hands back (AgentResult)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from skyq.agent.prompts import TaskBrief
from skyq.schemas import RunStatus


@dataclass(frozen=True)
class AgentTask:
    prompt: str
    url: str | None
    max_steps: int
    schema: dict[str, Any] | list[Any] | None = None
    error_codes: dict[str, str] = field(default_factory=dict)
    include_history_in_verification: bool = False
    screenshot_scrolls: int = 0
    send_screenshots: bool = True
    max_prompt_chars: int = 40_000
    time_limit_seconds: float | None = None
    # False when the page is already where the task starts (a planner's sub-goal goes
    # on from the last one's page): ``url`` still names the run's own site, where its
    # secrets and codes may be typed.
    open_url: bool = True
    # When the run's clock started (time.monotonic()), if before this task: the
    # planner's sub-goals share the run's time limit.
    started_at: float | None = None
    verification_codes: bool = False
    # Where the step numbers start: after the steps a workflow's code already took.
    first_step: int = 1
    # Values the model types by placeholder ({{name}}) and never sees: passwords,
    # secret workflow parameters. Scrubbed from everything recorded.
    secrets: dict[str, str] = field(default_factory=dict)
    # Put before each downloaded file's extension ("report.csv" -> "report-q3.csv").
    download_suffix: str | None = None

    def brief(self) -> TaskBrief:
        return TaskBrief(
            self.prompt,
            self.schema,
            dict(self.error_codes),
            self.verification_codes,
            tuple(self.secrets),
        )


@dataclass(frozen=True)
class AgentResult:
    status: RunStatus
    output: Any = None
    failure_reason: str | None = None
    errors: list[dict[str, str]] | None = None
    # The order of the run's last step, where it took any (the planner numbers on).
    last_step: int | None = None
