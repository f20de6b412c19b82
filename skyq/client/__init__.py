"""skyq's Python SDK: Skyvern's task-run methods, async and sync."""

from skyq.client.async_client import AsyncClient
from skyq.client.errors import (
    ApiError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ServiceUnavailableError,
    TooManyRequestsError,
    UnprocessableEntityError,
)
from skyq.client.options import RequestOptions
from skyq.client.sync_client import Client

__all__ = [
    "ApiError",
    "AsyncClient",
    "BadRequestError",
    "Client",
    "ConflictError",
    "ForbiddenError",
    "NotFoundError",
    "RequestOptions",
    "ServiceUnavailableError",
    "TooManyRequestsError",
    "UnprocessableEntityError",
]
