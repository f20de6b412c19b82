"""/v1/browser_sessions: a browser kept open across runs, in one worker's browser.

Creating one writes its row and puts it on the sessions queue; the worker that takes
it opens a context and holds it until it is closed, its timeout runs out (the
scheduler), or that worker goes away (the session fails, and so do its waiting runs).
"""

from __future__ import annotations

from fastapi import APIRouter

from skyq.api.auth import Organization, State
from skyq.db.models import BrowserSession
from skyq.db.run_store import as_utc
from skyq.db.session_store import BrowserSessionStore
from skyq.proxies import resolve_proxy
from skyq.schemas import BrowserSessionResponse, BrowserSessionStatus, CreateBrowserSessionRequest
from skyq.session_endings import end_session

router = APIRouter(prefix="/v1")


@router.post("/browser_sessions", response_model=BrowserSessionResponse)
def create_browser_session(
    state: State, org: Organization, body: CreateBrowserSessionRequest | None = None
) -> BrowserSessionResponse:
    body = body or CreateBrowserSessionRequest()
    resolve_proxy(body.proxy_location, state.settings.proxy_locations)
    rows = BrowserSessionStore(state.store)
    row = rows.create(org, body)
    try:
        state.queue.open_session(row.browser_session_id)
    except Exception:
        # Nothing accepted is left behind: a session no worker will ever open is ended.
        rows.end(row.browser_session_id, BrowserSessionStatus.failed, "the queue was unavailable")
        raise
    return session_response(row)


@router.get("/browser_sessions", response_model=list[BrowserSessionResponse])
def list_browser_sessions(state: State, org: Organization) -> list[BrowserSessionResponse]:
    """The organization's sessions that are starting or open."""
    return [session_response(row) for row in BrowserSessionStore(state.store).list_live(org)]


@router.get("/browser_sessions/{browser_session_id}", response_model=BrowserSessionResponse)
def get_browser_session(
    browser_session_id: str, state: State, org: Organization
) -> BrowserSessionResponse:
    return session_response(BrowserSessionStore(state.store).get(browser_session_id, org))


@router.post("/browser_sessions/{browser_session_id}/close", response_model=BrowserSessionResponse)
def close_browser_session(
    browser_session_id: str, state: State, org: Organization
) -> BrowserSessionResponse:
    """Close the session: its worker gives its context back, and runs still waiting for
    it fail with that reason. Closing a closed session answers it as it is."""
    rows = BrowserSessionStore(state.store)
    row = rows.get(browser_session_id, org)
    if not BrowserSessionStatus(row.status).is_final:
        end_session(
            state.store,
            state.queue,
            state.settings.dispatch_window_per_org,
            row,
            BrowserSessionStatus.completed,
            "closed by the caller",
        )
    return session_response(rows.get(browser_session_id, org))


def session_response(row: BrowserSession) -> BrowserSessionResponse:
    return BrowserSessionResponse(
        browser_session_id=row.browser_session_id,
        organization_id=row.organization_id,
        status=BrowserSessionStatus(row.status),
        timeout=row.timeout_minutes,
        runnable_type=row.runnable_type,
        runnable_id=row.runnable_id,
        started_at=as_utc(row.started_at),
        completed_at=as_utc(row.completed_at),
        created_at=as_utc(row.created_at) or row.created_at,
        modified_at=as_utc(row.modified_at) or row.modified_at,
        failure_reason=row.failure_reason,
        url=row.url,
    )
