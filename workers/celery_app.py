"""The Celery app workers run: ``celery -A workers.celery_app worker`` (or ``skyq worker``)."""

from __future__ import annotations

from skyq.queue import make_celery

app = make_celery()

# Registered after `app` exists: both modules import it.
import workers.process  # noqa: E402
import workers.tasks  # noqa: E402, F401
