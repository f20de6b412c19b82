"""What `skyq beat` has the workers do every SKYQ_REAPER_INTERVAL_SECONDS: publish the
outbox (runs accepted while the broker was down) and hand back runs whose worker died."""

from __future__ import annotations

from dataclasses import dataclass

from skyq.db import RunStore
from skyq.errors import QueueUnavailableError
from skyq.queue import RunQueue

OUTBOX_GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class Reaped:
    published: list[str]
    requeued: list[str]


def reap(store: RunStore, queue: RunQueue, *, lease_seconds: float) -> Reaped:
    published = []
    for run_id in store.unpublished(grace_seconds=OUTBOX_GRACE_SECONDS):
        try:
            queue.enqueue(run_id)
        except QueueUnavailableError:
            break  # still down: the next pass tries again
        store.mark_enqueued(run_id)
        published.append(run_id)
    # A run whose lease expired lost its worker; its next delivery claims it.
    requeued = store.expired_leases(grace_seconds=lease_seconds)
    for run_id in requeued:
        queue.enqueue(run_id)
    return Reaped(published=published, requeued=requeued)
