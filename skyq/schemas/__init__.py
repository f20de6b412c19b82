"""Wire models: what crosses the API, the SDK and the queue."""

from skyq.schemas.batch import BatchRequest, BatchResponse, BatchRunEntry
from skyq.schemas.browser_session import (
    BrowserSessionResponse,
    BrowserSessionStatus,
    CreateBrowserSessionRequest,
)
from skyq.schemas.enums import (
    ENGINE_RUN_TYPES,
    SCREENSHOT_TYPES,
    TERMINAL_STATUSES,
    ArtifactType,
    RunEngine,
    RunStatus,
    RunType,
)
from skyq.schemas.task_run import (
    FileInfo,
    LLMUsage,
    ScriptRunResponse,
    TaskRunRequest,
    TaskRunResponse,
)
from skyq.schemas.timeline import ActionRecord, ArtifactResponse, StepRecord, TimelineEntry
from skyq.schemas.workflow import (
    WorkflowCodeUpdate,
    WorkflowResponse,
    WorkflowRevisionResponse,
    WorkflowRunRequest,
)

__all__ = [
    "ENGINE_RUN_TYPES",
    "SCREENSHOT_TYPES",
    "TERMINAL_STATUSES",
    "ActionRecord",
    "ArtifactResponse",
    "ArtifactType",
    "BatchRequest",
    "BatchResponse",
    "BatchRunEntry",
    "BrowserSessionResponse",
    "BrowserSessionStatus",
    "CreateBrowserSessionRequest",
    "FileInfo",
    "LLMUsage",
    "RunEngine",
    "RunStatus",
    "RunType",
    "ScriptRunResponse",
    "StepRecord",
    "TaskRunRequest",
    "TaskRunResponse",
    "TimelineEntry",
    "WorkflowCodeUpdate",
    "WorkflowResponse",
    "WorkflowRevisionResponse",
    "WorkflowRunRequest",
]
