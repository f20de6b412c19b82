"""The Skyvern-compatible run routes under /v1."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query
from fastapi.concurrency import run_in_threadpool

from skyq.api.auth import Caller, Organization, State
from skyq.api.state import ApiState
from skyq.db.credential_store import CredentialStore
from skyq.db.models import ApiKey, Credential, Run, utcnow
from skyq.db.session_store import BrowserSessionStore, ensure_open
from skyq.engines import ensure_supported
from skyq.errors import BrowserSessionNotFoundError, CredentialNotFoundError, InvalidRequestError
from skyq.proxies import resolve_proxy
from skyq.responses import artifact_response, timeline
from skyq.schemas import (
    ArtifactResponse,
    RunStatus,
    TaskRunRequest,
    TaskRunResponse,
    TimelineEntry,
)
from skyq.schemas.credential import DownloadFilesRequest, LoginRequest
from skyq.task_kinds import download_task, login_task
from skyq.webhooks import webhook_due

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1")
MAX_WAIT_SECONDS = 60.0


@router.post("/run/tasks", response_model=TaskRunResponse)
def run_task(
    body: TaskRunRequest,
    state: State,
    key: Caller,
    x_user_agent: Annotated[str | None, Header()] = None,
    x_max_steps_override: Annotated[int | None, Header(gt=0, le=1000)] = None,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ] = None,
) -> TaskRunResponse:
    """Start a task run: the row is written, the run is queued, the answer is immediate.
    With an ``Idempotency-Key`` header, a retried POST returns the run it made."""
    updates: dict[str, object] = {}
    if x_user_agent and not body.user_agent:
        updates["user_agent"] = x_user_agent  # Skyvern's SDK sends it as a header
    if x_max_steps_override and not body.max_steps:
        updates["max_steps"] = x_max_steps_override
    return start_task(state, key, body.model_copy(update=updates), idempotency_key)


@router.post("/run/tasks/login", response_model=TaskRunResponse)
def login(body: LoginRequest, state: State, key: Caller) -> TaskRunResponse:
    """Log in with a stored credential. The model types the password by placeholder and
    never sees it; a TOTP secret stored with the credential gives the
    one-time code."""
    credential = _credential(state, key.organization_id, body.credential_id)
    return start_task(state, key, login_task(body, credential.username))


def _credential(state: ApiState, organization_id: str, credential_id: str) -> Credential:
    """The credential a request names; 422 naming the field when there is none."""
    try:
        return CredentialStore(state.store, state.sealer).get(credential_id, organization_id)
    except CredentialNotFoundError:
        raise InvalidRequestError("credential_id", f"no credential {credential_id!r}") from None


@router.post("/run/tasks/download_files", response_model=TaskRunResponse)
def download_files(body: DownloadFilesRequest, state: State, key: Caller) -> TaskRunResponse:
    """Navigate to the files the goal names and download them: they come back in
    ``downloaded_files``."""
    return start_task(state, key, download_task(body))


def start_task(
    state: ApiState, key: ApiKey, body: TaskRunRequest, idempotency_key: str | None = None
) -> TaskRunResponse:
    ensure_supported(body)
    resolve_proxy(body.proxy_location, state.settings.proxy_locations)
    if body.browser_session_id is not None:
        ensure_session_open(state, key.organization_id, body.browser_session_id)
    if body.credential_id is not None:
        _credential(state, key.organization_id, body.credential_id)
    request = state.schemas.resolve(body)
    digest = hashlib.sha256(request.model_dump_json().encode()).hexdigest()
    if idempotency_key is not None:
        found = state.store.find_idempotent(key.organization_id, idempotency_key)
        if found is not None:
            return _replayed(state, found, digest)
    state.limits.check_capacity(key.organization_id)
    run, created = state.store.create_or_find_run(
        key.organization_id,
        request,
        api_key_id=key.api_key_id,
        idempotency_key=idempotency_key,
        request_hash=digest if idempotency_key else None,
    )
    if not created:
        return _replayed(state, run, digest)
    # Accepted either way: a run the window holds back, or that the broker (down)
    # refused, waits in the outbox until a run of the organization ends or the reaper
    # passes.
    state.dispatcher.dispatch(key.organization_id)
    return state.response(run)


def ensure_session_open(state: ApiState, organization_id: str, browser_session_id: str) -> None:
    """422 naming the field for a session that is not there; 409 for one that ended."""
    try:
        row = BrowserSessionStore(state.store).get(browser_session_id, organization_id)
    except BrowserSessionNotFoundError:
        raise InvalidRequestError(
            "browser_session_id", f"no browser session {browser_session_id!r}"
        ) from None
    ensure_open(row)


def _replayed(state: ApiState, run: Run, digest: str) -> TaskRunResponse:
    if run.request_hash != digest:
        raise HTTPException(409, detail="Idempotency-Key was already used with a different request")
    return state.response(run)


@router.get("/runs/{run_id}", response_model=TaskRunResponse)
async def get_run(
    run_id: str,
    state: State,
    org: Organization,
    wait_seconds: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS)] = 0,
) -> TaskRunResponse:
    """One run. With ``wait_seconds`` the answer waits until the run ends (or that
    long), so a waiting client learns of the end at once instead of polling."""
    deadline = time.monotonic() + min(wait_seconds, state.settings.max_wait_seconds)
    with state.endings.waiting(run_id) as ended:
        run = await run_in_threadpool(state.store.get_run, run_id, org)
        while not RunStatus(run.status).is_final and time.monotonic() < deadline:
            # Woken by the run's end; the re-read on a timeout covers a notification
            # lost while the listener reconnected (and SQLite, which has none).
            poll = state.settings.wait_poll_seconds * (10 if state.endings.listening else 1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), min(poll, deadline - time.monotonic()))
            ended.clear()
            run = await run_in_threadpool(state.store.get_run, run_id, org)
    return await run_in_threadpool(state.response, run)


@router.post("/runs/{run_id}/cancel", response_model=TaskRunResponse)
def cancel_run(run_id: str, state: State, org: Organization) -> TaskRunResponse:
    """Cancel a run: a queued run never starts; a running one stops at its next step."""
    store = state.store
    run = store.get_run(run_id, org)
    if run.status == RunStatus.canceled.value:
        return state.response(run)
    if RunStatus(run.status).is_final:
        raise HTTPException(409, detail=f"run {run_id} already ended with status {run.status}")
    store.request_cancel(run_id)
    store.transition(
        run_id,
        (RunStatus.created, RunStatus.queued),
        RunStatus.canceled,
        failure_reason="canceled by the caller",
        finished_at=utcnow(),
    )
    response = state.response(store.get_run(run_id, org))
    if response.status == RunStatus.canceled:  # a queued run ends here, not in a worker
        state.dispatcher.dispatch(org)  # its place in the window is free
        if webhook_due(store, response):
            state.queue.enqueue_webhook(run_id)
    return response


@router.post("/runs/{run_id}/retry_webhook")
def retry_webhook(run_id: str, state: State, org: Organization) -> dict[str, str]:
    """Send the run's webhook again."""
    run = state.store.get_run(run_id, org)
    if not run.run_request.get("webhook_url"):
        raise HTTPException(400, detail=f"run {run_id} has no webhook_url")
    if not RunStatus(run.status).is_final:
        raise HTTPException(409, detail=f"run {run_id} has not ended yet")
    state.queue.enqueue_webhook(run_id)
    return {"status": "queued"}


@router.get("/runs/{run_id}/artifacts", response_model=list[ArtifactResponse])
def list_artifacts(
    run_id: str,
    state: State,
    org: Organization,
    artifact_type: Annotated[list[str] | None, Query()] = None,
) -> list[ArtifactResponse]:
    state.store.get_run(run_id, org)
    return [
        artifact_response(a, state.artifact_url(a))
        for a in state.store.artifacts(run_id, artifact_type)
    ]


@router.get("/runs/{run_id}/timeline", response_model=list[TimelineEntry])
def get_timeline(run_id: str, state: State, org: Organization) -> list[TimelineEntry]:
    state.store.get_run(run_id, org)
    return timeline(state.store, run_id)
