"""The API process: ``skyq api`` serves ``create_app()`` with uvicorn.

It validates, writes the run row, enqueues, and answers at once; it never touches a
browser (it does not import Playwright)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from skyq import __version__
from skyq.api import (
    batches,
    browser_sessions,
    credentials,
    metrics,
    pages,
    runs,
    workflows,
)
from skyq.api.error_handlers import install_error_handlers
from skyq.api.limits import Limits
from skyq.api.run_endings import RunEndings
from skyq.api.state import ApiState
from skyq.bootstrap import open_run_store, secret_key
from skyq.config import Settings
from skyq.db.key_store import KeyStore
from skyq.links import Links
from skyq.queue import RunQueue, make_celery
from skyq.schema_registry import SchemaRegistry
from skyq.sealing import Sealer
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
        endings=RunEndings(settings.resolved_database_url),
        sealer=Sealer(secret_key(settings)),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.endings.start()
        yield
        await state.endings.stop()

    app = FastAPI(
        title="skyq",
        version=__version__,
        description="AI browser tasks at volume, on Skyvern's task-run API.",
        lifespan=lifespan,
    )
    app.state.skyq = state
    app.include_router(runs.router)
    app.include_router(batches.router)
    app.include_router(browser_sessions.router)
    app.include_router(workflows.router)
    app.include_router(credentials.router)
    app.include_router(pages.router)
    app.include_router(metrics.router)

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

    install_error_handlers(app)
    return app
