"""Putting runs on the queue. The run row is committed before its message is sent, so
a worker never receives a run it cannot read."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.utils.nodenames import worker_direct
from kombu.entity import Queue
from kombu.exceptions import KombuError, OperationalError

from skyq.errors import QueueUnavailableError
from skyq.queue.app import (
    CLOSE_SESSION_TASK,
    OPEN_SESSION_TASK,
    PRIORITY_SEP,
    PRIORITY_STEPS,
    RUN_TASK,
    RUNS_QUEUE,
    SESSIONS_QUEUE,
    WEBHOOK_TASK,
    WEBHOOKS_QUEUE,
)


class RunQueue:
    def __init__(self, app: Celery) -> None:
        self.app = app

    def enqueue(self, run_id: str, priority: int = 5, *, worker: str | None = None) -> None:
        """Send the run to the workers; the message's task id is the run id.
        ``priority``: skyq's 0-9, higher sooner (kombu's Redis lists run lower first).
        ``worker``: the node holding the run's browser session, which alone can run it."""
        self._send(
            RUN_TASK,
            worker_direct(worker) if worker else RUNS_QUEUE,
            {"run_id": run_id},
            task_id=run_id,
            priority=broker_priority(priority),
        )

    def enqueue_webhook(self, run_id: str) -> None:
        self._send(WEBHOOK_TASK, WEBHOOKS_QUEUE, {"run_id": run_id})

    def open_session(self, browser_session_id: str) -> None:
        self._send(OPEN_SESSION_TASK, SESSIONS_QUEUE, {"browser_session_id": browser_session_id})

    def close_session(self, browser_session_id: str, worker: str) -> None:
        self._send(
            CLOSE_SESSION_TASK,
            worker_direct(worker),
            {"browser_session_id": browser_session_id},
        )

    def _send(
        self,
        task: str,
        queue: str | Queue,
        kwargs: dict[str, str],
        task_id: str | None = None,
        priority: int | None = None,
    ) -> None:
        try:
            self.app.send_task(task, kwargs=kwargs, task_id=task_id, queue=queue, priority=priority)
        except (OperationalError, KombuError, OSError) as exc:
            raise QueueUnavailableError(f"the queue is unavailable: {exc}") from exc


def queue_depth(client: Any, queue: str) -> int:
    """Messages waiting in a Redis queue, over kombu's priority lists (``queue`` is
    priority 0; the others are named with kombu's separator and the step)."""
    names = [queue, *(f"{queue}{PRIORITY_SEP}{step}" for step in PRIORITY_STEPS[1:])]
    return sum(int(client.llen(name)) for name in names)


def broker_priority(priority: int) -> int:
    """skyq's priority (0-9, higher sooner) as kombu's Redis transport reads it (0 first)."""
    return 9 - max(0, min(9, priority))
