"""What `skyq beat` has the workers do every SKYQ_REAPER_INTERVAL_SECONDS: dispatch
runs still waiting in the outbox, hand back runs whose worker died, and end browser
sessions whose timeout ran out or whose worker went away."""

from __future__ import annotations

from dataclasses import dataclass

from skyq.db.session_store import BrowserSessionStore
from skyq.dispatch import Dispatcher
from skyq.schemas import BrowserSessionStatus
from skyq.session_endings import end_session

# A run younger than this is being dispatched by the API that accepted it.
OUTBOX_GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class Reaped:
    published: list[str]
    requeued: list[str]
    sessions_ended: list[str]


def reap(dispatcher: Dispatcher, *, lease_seconds: float) -> Reaped:
    ended = _end_sessions(dispatcher, lease_seconds)
    published = dispatcher.dispatch_waiting(OUTBOX_GRACE_SECONDS)
    # A run whose lease expired lost its worker; its next delivery claims it. It is in
    # its organization's window already, so it goes straight to the queue.
    expired = dispatcher.store.expired_leases(grace_seconds=lease_seconds)
    for run_id, priority, worker in expired:
        # A run in a browser session can only go back to the worker holding it.
        dispatcher.queue.enqueue(run_id, priority, worker=worker)
    return Reaped(
        published=published,
        requeued=[run_id for run_id, *_ in expired],
        sessions_ended=ended,
    )


def _end_sessions(dispatcher: Dispatcher, lease_seconds: float) -> list[str]:
    store, queue, window = dispatcher.store, dispatcher.queue, dispatcher.window
    rows = BrowserSessionStore(store)
    ended = []
    for row in rows.lost(grace_seconds=lease_seconds):
        reason = "the worker holding it stopped (no heartbeat)"
        end_session(
            store, queue, window, row, BrowserSessionStatus.failed, reason, tell_worker=False
        )
        ended.append(row.browser_session_id)
    for row in rows.timed_out():
        reason = f"its timeout of {row.timeout_minutes} min ran out"
        end_session(store, queue, window, row, BrowserSessionStatus.timeout, reason)
        ended.append(row.browser_session_id)
    return ended
