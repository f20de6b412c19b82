"""Two repairs that let a worker live through losing Redis with a run in flight.

When the broker connection drops while a message is unacked, kombu's Redis channel is
left without a connection, and anything that touches it (Celery closing the broken
connection, which puts unacked messages back; the ack of the run when it ends) raises
AttributeError instead of a connection error. Celery only forgives connection errors,
so the whole worker exits ("Unrecoverable error"). Upstream: celery/celery#9250,
celery/kombu#582.

Both places are safe to carry on from: Celery has already let go of the connection,
and an ack that cannot be sent leaves the message in Redis's unacked set, from where it
comes back after the visibility timeout to a claim that finds the run finished.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.worker.consumer import Consumer as CeleryConsumer
from celery.worker.request import Request as CeleryRequest

log = logging.getLogger(__name__)


class Consumer(CeleryConsumer):  # type: ignore[misc]
    def on_connection_error_after_connected(self, exc: Exception) -> None:
        try:
            super().on_connection_error_after_connected(exc)
        except AttributeError:
            log.warning("closing the lost broker connection failed; reconnecting anyway")


class Request(CeleryRequest):  # type: ignore[misc]
    """A task request whose ack (or reject) on a channel lost with its connection is
    logged and dropped, as one on a broken connection already is."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        errors: tuple[type[BaseException], ...] = self._connection_errors  # type: ignore[has-type]
        self._connection_errors = (*errors, AttributeError)
