"""Fair dispatch: which accepted runs go onto the queue, and when.

The broker's queue is one FIFO list, so a burst of 60 runs from one organization would
stand in front of every other organization's runs. Instead, an accepted run is put on
the queue only while fewer than ``SKYQ_DISPATCH_WINDOW_PER_ORG`` runs of its
organization are on the queue or running; the rest wait in Postgres (the same outbox
that holds runs accepted while the broker was down) and are dispatched, oldest first,
as that organization's runs end. Another organization's run therefore waits behind at
most one window of the burst, not all of it.
"""

from __future__ import annotations

import logging

from skyq.db import RunStore
from skyq.errors import QueueUnavailableError
from skyq.queue import RunQueue

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, store: RunStore, queue: RunQueue, window: int) -> None:
        self.store = store
        self.queue = queue
        self.window = window

    def dispatch(self, organization_id: str) -> list[str]:
        """Publish what the organization's window allows; the run ids published."""
        return self.store.dispatch(organization_id, self.window, self._publish)

    def dispatch_waiting(self, grace_seconds: float) -> list[str]:
        """One pass over every organization with runs waiting: the backstop for
        dispatches that were missed (a worker died, the broker was down)."""
        published: list[str] = []
        for organization_id in self.store.waiting_organizations(grace_seconds):
            published += self.dispatch(organization_id)
        return published

    def _publish(self, run_id: str, priority: int, worker: str | None) -> bool:
        try:
            self.queue.enqueue(run_id, priority, worker=worker)
        except QueueUnavailableError:
            # The run stays in the outbox; the reaper's next pass publishes it.
            log.warning("broker unavailable; run kept in the outbox", extra={"run_id": run_id})
            return False
        return True
