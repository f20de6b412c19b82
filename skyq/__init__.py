"""skyq: AI browser tasks at volume, on Skyvern's task-run API.

from skyq import Client
client = Client("http://127.0.0.1:8000", api_key="skyq_...")
run = client.run_task("Extract the top 3 products", url="https://...", wait_for_completion=True)
"""

from skyq.client import (
    ApiError,
    AsyncClient,
    Client,
    ForbiddenError,
    NotFoundError,
    RequestOptions,
    UnprocessableEntityError,
)
from skyq.schemas import (
    BrowserSessionResponse,
    RunEngine,
    RunStatus,
    TaskRunRequest,
    TaskRunResponse,
)

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "AsyncClient",
    "BrowserSessionResponse",
    "Client",
    "ForbiddenError",
    "NotFoundError",
    "RequestOptions",
    "RunEngine",
    "RunStatus",
    "TaskRunRequest",
    "TaskRunResponse",
    "UnprocessableEntityError",
    "__version__",
]
