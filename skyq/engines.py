"""What each engine can do, checked where the request arrives. Kept apart from the
runner so the API can check a request without importing the browser."""

from __future__ import annotations

from skyq.errors import InvalidRequestError
from skyq.schemas import RunEngine, TaskRunRequest

SUPPORTED_ENGINES = frozenset(RunEngine)
# Their actions are points on a screenshot: there is no element to write a selector for.
COORDINATE_ENGINES = frozenset({RunEngine.openai_cua, RunEngine.anthropic_cua, RunEngine.ui_tars})


def ensure_supported(request: TaskRunRequest) -> None:
    """Refuse what skyq cannot do, rather than silently doing something else."""
    if request.engine not in SUPPORTED_ENGINES:
        raise InvalidRequestError("engine", f"{request.engine.value!r} is not supported")
    if request.publish_workflow and request.engine in COORDINATE_ENGINES:
        raise InvalidRequestError(
            "publish_workflow",
            f"engine {request.engine.value!r} acts at screen coordinates, which make no "
            "workflow code; publish with skyvern-1.0 or skyvern-2.0",
        )
