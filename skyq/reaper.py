"""What `skyq beat` has the workers do every SKYQ_REAPER_INTERVAL_SECONDS: dispatch
runs still waiting in the outbox and hand back runs whose worker died."""

from __future__ import annotations

from dataclasses import dataclass

from skyq.dispatch import Dispatcher

# A run younger than this is being dispatched by the API that accepted it.
OUTBOX_GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class Reaped:
    published: list[str]
    requeued: list[str]


def reap(dispatcher: Dispatcher, *, lease_seconds: float) -> Reaped:
    published = dispatcher.dispatch_waiting(OUTBOX_GRACE_SECONDS)
    # A run whose lease expired lost its worker; its next delivery claims it. It is in
    # its organization's window already, so it goes straight to the queue.
    expired = dispatcher.store.expired_leases(grace_seconds=lease_seconds)
    for run_id, priority in expired:
        dispatcher.queue.enqueue(run_id, priority)
    return Reaped(published=published, requeued=[run_id for run_id, _ in expired])
