"""How skyq's errors answer over HTTP: the field named for bad input, 404 for what the
caller may not see, 503 with Retry-After when a service behind the API is away."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError

from skyq.errors import (
    BrowserSessionEndedError,
    ConfigurationError,
    DatabaseUnavailableError,
    InvalidRequestError,
    QueueUnavailableError,
    RunNotFoundError,
)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InvalidRequestError)
    async def invalid_request(_: Request, exc: InvalidRequestError) -> JSONResponse:
        detail = [{"loc": ["body", exc.field], "msg": exc.message, "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(RunNotFoundError)
    async def not_found(_: Request, exc: RunNotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(BrowserSessionEndedError)
    async def session_ended(_: Request, exc: BrowserSessionEndedError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(QueueUnavailableError)
    async def queue_down(_: Request, exc: QueueUnavailableError) -> JSONResponse:
        return JSONResponse(
            {"detail": "the queue is unavailable; try again shortly"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    def database_unavailable() -> JSONResponse:
        return JSONResponse(
            {"detail": "the database is unavailable; try again shortly"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(DatabaseUnavailableError)
    async def database_down(_: Request, exc: DatabaseUnavailableError) -> JSONResponse:
        return database_unavailable()

    @app.exception_handler(DBAPIError)
    async def database_error(_: Request, exc: DBAPIError) -> JSONResponse:
        # Connection-level failures only (outside the RunStore, as in key lookups):
        # anything else is a bug and should be a 500.
        if not exc.connection_invalidated and not isinstance(exc, OperationalError):
            raise exc
        return database_unavailable()

    @app.exception_handler(ConfigurationError)
    async def misconfigured(_: Request, exc: ConfigurationError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)
