"""What the SDK raises for an HTTP error answer; every class is a SkyqError.

    ApiError                      any 4xx/5xx answer: status_code, body
    ├── BadRequestError           400
    ├── ForbiddenError            403 (a missing or wrong API key)
    ├── NotFoundError             404 (no such run, or another organization's)
    ├── ConflictError             409 (e.g. canceling a run that already ended)
    ├── UnprocessableEntityError  422 (a field of the request is invalid; body names it)
    ├── TooManyRequestsError      429 (rate or run limit; retried after Retry-After first)
    └── ServiceUnavailableError   503 (the queue or database is down; retried first)

Waiting for a run longer than ``timeout`` raises the built-in TimeoutError.
"""

from __future__ import annotations

from typing import Any

from skyq.errors import SkyqError


class ApiError(SkyqError):
    def __init__(self, status_code: int, body: Any) -> None:
        detail = body.get("detail", body) if isinstance(body, dict) else body
        super().__init__(f"HTTP {status_code}: {detail}")
        self.status_code = status_code
        self.body = body


class BadRequestError(ApiError):
    """400."""


class ForbiddenError(ApiError):
    """403: a missing, wrong or revoked API key."""


class NotFoundError(ApiError):
    """404: no such run, or another organization's."""


class ConflictError(ApiError):
    """409: e.g. canceling a run that already ended."""


class UnprocessableEntityError(ApiError):
    """422: the body names the invalid field."""


class TooManyRequestsError(ApiError):
    """429: a rate or run limit."""


class ServiceUnavailableError(ApiError):
    """503: the database is unavailable."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: TooManyRequestsError,
    503: ServiceUnavailableError,
}


def error_for(status_code: int, body: Any) -> ApiError:
    return _BY_STATUS.get(status_code, ApiError)(status_code, body)
