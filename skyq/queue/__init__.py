"""The queue room: Celery's configuration and the producer. Celery is imported only
here, in workers/ and in skyq/celery.py (signatures for other services)."""

from skyq.queue.app import (
    CLOSE_SESSION_TASK,
    OPEN_SESSION_TASK,
    REAP_TASK,
    RUN_TASK,
    RUNS_QUEUE,
    SESSIONS_QUEUE,
    WEBHOOK_TASK,
    WEBHOOKS_QUEUE,
    celery_config,
    make_celery,
)
from skyq.queue.producer import RunQueue, queue_depth

__all__ = [
    "CLOSE_SESSION_TASK",
    "OPEN_SESSION_TASK",
    "REAP_TASK",
    "RUNS_QUEUE",
    "RUN_TASK",
    "SESSIONS_QUEUE",
    "WEBHOOKS_QUEUE",
    "WEBHOOK_TASK",
    "RunQueue",
    "celery_config",
    "make_celery",
    "queue_depth",
]
