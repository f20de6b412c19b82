"""Enums whose values are Skyvern's wire values."""

from __future__ import annotations

from enum import StrEnum


class RunEngine(StrEnum):
    skyvern_v1 = "skyvern-1.0"
    skyvern_v2 = "skyvern-2.0"
    openai_cua = "openai-cua"
    anthropic_cua = "anthropic-cua"
    ui_tars = "ui-tars"


class RunType(StrEnum):
    task_v1 = "task_v1"
    task_v2 = "task_v2"
    workflow_run = "workflow_run"
    openai_cua = "openai_cua"
    anthropic_cua = "anthropic_cua"
    ui_tars = "ui_tars"


ENGINE_RUN_TYPES: dict[RunEngine, RunType] = {
    RunEngine.skyvern_v1: RunType.task_v1,
    RunEngine.skyvern_v2: RunType.task_v2,
    RunEngine.openai_cua: RunType.openai_cua,
    RunEngine.anthropic_cua: RunType.anthropic_cua,
    RunEngine.ui_tars: RunType.ui_tars,
}


class RunStatus(StrEnum):
    created = "created"
    queued = "queued"
    running = "running"
    paused = "paused"
    timed_out = "timed_out"
    failed = "failed"
    terminated = "terminated"
    completed = "completed"
    canceled = "canceled"

    @property
    def is_final(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {
        RunStatus.completed,
        RunStatus.failed,
        RunStatus.terminated,
        RunStatus.canceled,
        RunStatus.timed_out,
    }
)


class ArtifactType(StrEnum):
    recording = "recording"
    screenshot = "screenshot"
    screenshot_llm = "screenshot_llm"
    screenshot_action = "screenshot_action"
    screenshot_final = "screenshot_final"
    llm_prompt = "llm_prompt"
    llm_request = "llm_request"
    llm_response = "llm_response"
    llm_response_parsed = "llm_response_parsed"
    visible_elements_tree = "visible_elements_tree"
    html = "html"
    har = "har"
    trace = "trace"
    script_file = "script_file"
    download = "download"
    browser_console_log = "browser_console_log"


SCREENSHOT_TYPES = frozenset(
    {
        ArtifactType.screenshot,
        ArtifactType.screenshot_llm,
        ArtifactType.screenshot_action,
        ArtifactType.screenshot_final,
    }
)
