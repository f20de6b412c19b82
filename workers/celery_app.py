"""The Celery app workers run: ``celery -A workers.celery_app worker`` (or ``skyq worker``)."""

from __future__ import annotations

from celery.app import trace

from skyq.queue import make_celery

app = make_celery()

# Celery logs every task's return value; a run's is its output and request (page data,
# navigation_payload), which belong to the caller and the result backend, not the logs.
trace.LOG_SUCCESS = "Task %(name)s[%(id)s] succeeded in %(runtime)ss"

# Registered after `app` exists: both modules import it.
import workers.process  # noqa: E402
import workers.tasks  # noqa: E402, F401
