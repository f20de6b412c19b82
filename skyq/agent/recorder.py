"""Where the agent writes what it did. The runner's implementation stores rows and
artifacts through the run's journal, behind the step loop, so a crash loses at most
the records still queued (about a step's worth)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from skyq.agent.actions import AgentAction, PlanAction, UploadFileAction
from skyq.agent.page import ActionOutcome, FileData
from skyq.agent.pointer import PointerAction
from skyq.llm.base import Usage
from skyq.schemas import ArtifactType


@dataclass(frozen=True)
class StepReport:
    """One finished step, for progress lines (CLI stderr, task state in Flower)."""

    order: int
    max_steps: int
    actions: tuple[tuple[str, str | None], ...]  # (action_type, element text)
    url: str
    elapsed_seconds: float
    usage: Usage


class FileSource(Protocol):
    async def __call__(self, action: UploadFileAction) -> FileData:
        """The file an upload_file action names; raises LookupError saying why not."""
        ...


class CodeSource(Protocol):
    async def __call__(self) -> str:
        """A one-time verification code; raises LookupError when none comes."""
        ...


class RunRecorder(Protocol):
    def cancel_requested(self) -> bool: ...

    def start_step(self, order: int, url: str | None) -> str:
        """Returns the step's id."""
        ...

    def save_artifact(
        self,
        step_id: str | None,
        kind: ArtifactType,
        data: bytes,
        ext: str,
        filename: str | None = None,
    ) -> None: ...

    def record_action(
        self,
        step_id: str,
        order: int,
        action: AgentAction | PointerAction | PlanAction,
        outcome: ActionOutcome,
        element_text: str | None,
    ) -> None: ...

    def finish_step(self, step_id: str, status: str, usage: Usage) -> None: ...

    def step_finished(self, report: StepReport) -> None:
        """Called after finish_step with a summary for progress displays."""
        ...
