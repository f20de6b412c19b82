"""Which engines this build can run. Kept apart from the runner so the API can check a
request without importing the browser."""

from __future__ import annotations

from skyq.errors import InvalidRequestError
from skyq.schemas import RunEngine, TaskRunRequest

SUPPORTED_ENGINES = frozenset({RunEngine.skyvern_v1})


def ensure_supported(request: TaskRunRequest) -> None:
    """Refuse what skyq cannot do yet, rather than silently doing something else."""
    if request.engine not in SUPPORTED_ENGINES:
        raise InvalidRequestError(
            "engine", f"{request.engine.value!r} is not supported yet; use 'skyvern-1.0'"
        )
