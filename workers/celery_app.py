"""The Celery app workers run: ``celery -A workers.celery_app worker`` (or ``skyq worker``)."""

from __future__ import annotations

from typing import Any

from celery.app import trace
from celery.signals import setup_logging

from skyq import logs
from skyq.queue import make_celery

app = make_celery()

# Celery logs every task's return value; a run's is its output and request (page data,
# navigation_payload), which belong to the caller and the result backend, not the logs.
trace.LOG_SUCCESS = "Task %(name)s[%(id)s] succeeded in %(runtime)ss"


@setup_logging.connect
def _json_logs(loglevel: str | int | None = None, **_: Any) -> None:
    """The worker's own lines (received, ready, lost connection) as JSON too; Celery
    leaves logging alone when this signal has a receiver."""
    logs.configure(loglevel or "INFO")


# Registered after `app` exists: both modules import it.
import workers.process  # noqa: E402
import workers.tasks  # noqa: E402, F401
