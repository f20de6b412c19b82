"""Ending a browser session, wherever that is decided (the caller's close, the
scheduler's timeout, a lost worker, a worker stopping): its row, the runs it strands,
their webhooks and their organization's window, and the worker that holds it."""

from __future__ import annotations

import contextlib
import logging

from skyq.db import RunStore
from skyq.db.models import BrowserSession
from skyq.db.session_store import BrowserSessionStore
from skyq.dispatch import Dispatcher
from skyq.errors import QueueUnavailableError
from skyq.queue import RunQueue
from skyq.schemas import BrowserSessionStatus

log = logging.getLogger(__name__)


def end_session(
    store: RunStore,
    queue: RunQueue,
    window: int,
    row: BrowserSession,
    status: BrowserSessionStatus,
    reason: str | None = None,
    *,
    tell_worker: bool = True,
) -> list[str]:
    """End ``row`` with ``status``; the runs this failed. ``tell_worker``: ask the worker
    holding it to close its browser context (not when that worker is gone, or is the
    one ending it)."""
    failed = BrowserSessionStore(store).end(row.browser_session_id, status, reason)
    log.info(
        "browser session ended",
        extra={
            "browser_session_id": row.browser_session_id,
            "status": status.value,
            "runs_failed": len(failed),
        },
    )
    with contextlib.suppress(QueueUnavailableError):  # the worker's own timeout closes it
        if tell_worker and row.worker:
            queue.close_session(row.browser_session_id, row.worker)
        for run_id in failed:
            if store.get_run(run_id).run_request.get("webhook_url") and store.claim_webhook(run_id):
                queue.enqueue_webhook(run_id)
    if failed:
        Dispatcher(store, queue, window).dispatch(row.organization_id)
    return failed
