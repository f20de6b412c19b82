"""The API process: ``skyq api`` serves ``create_app()`` with uvicorn.

It validates, writes the run row, enqueues, and answers at once; it never touches a
browser (it does not import Playwright)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError

from skyq import __version__
from skyq.api import credentials, pages, runs
from skyq.api.limits import Limits
from skyq.api.state import ApiState
from skyq.bootstrap import open_run_store
from skyq.config import Settings
from skyq.db.key_store import KeyStore
from skyq.errors import (
    ConfigurationError,
    InvalidRequestError,
    QueueUnavailableError,
    RunNotFoundError,
)
from skyq.links import Links
from skyq.queue import RunQueue, make_celery
from skyq.schema_registry import SchemaRegistry
from skyq.storage import open_artifact_store


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    store = open_run_store(settings)
    artifacts = open_artifact_store(settings)
    state = ApiState(
        settings=settings,
        store=store,
        keys=KeyStore(store.engine),
        artifacts=artifacts,
        queue=RunQueue(make_celery(settings)),
        links=Links.from_settings(settings, artifacts),
        schemas=SchemaRegistry.from_import_paths(settings.extraction_models),
        limits=Limits(settings, store),
    )
    app = FastAPI(
        title="skyq",
        version=__version__,
        description="AI browser tasks at volume, on Skyvern's task-run API.",
    )
    app.state.skyq = state
    app.include_router(runs.router)
    app.include_router(credentials.router)
    app.include_router(pages.router)

    limit = settings.api_max_body_bytes

    @app.middleware("http")
    async def body_limit(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return JSONResponse(
                {"detail": f"request body larger than {limit} bytes"}, status_code=413
            )
        return await call_next(request)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(InvalidRequestError)
    async def invalid_request(_: Request, exc: InvalidRequestError) -> JSONResponse:
        detail = [{"loc": ["body", exc.field], "msg": exc.message, "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(RunNotFoundError)
    async def not_found(_: Request, exc: RunNotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(QueueUnavailableError)
    async def queue_down(_: Request, exc: QueueUnavailableError) -> JSONResponse:
        return JSONResponse(
            {"detail": "the queue is unavailable; try again shortly"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(DBAPIError)
    async def database_down(_: Request, exc: DBAPIError) -> JSONResponse:
        # Connection-level failures only: anything else is a bug and should be a 500.
        if not exc.connection_invalidated and not isinstance(exc, OperationalError):
            raise exc
        return JSONResponse(
            {"detail": "the database is unavailable; try again shortly"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(ConfigurationError)
    async def misconfigured(_: Request, exc: ConfigurationError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    return app
