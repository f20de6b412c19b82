"""The Celery app's configuration: what makes "nothing lost" true on Redis.

Celery acks early by default (at-most-once). skyq acks late and rejects on a lost
worker, so a run whose worker child died is delivered again; the run row's lease then
decides whether that delivery may run it (skyq.db.run_store.claim_run). The broker's
visibility timeout is only a backstop above the hard time limit: with Redis it is set
once at delivery and a long run would otherwise be delivered twice.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from skyq.config import Settings

RUNS_QUEUE = "skyq.runs"
RUN_TASK = "skyq.run_task"
WEBHOOKS_QUEUE = "skyq.webhooks"
WEBHOOK_TASK = "skyq.send_webhook"
REAP_TASK = "skyq.reap"
# Opening a browser session: taken by any worker that can hold one (threads pool).
SESSIONS_QUEUE = "skyq.sessions"
OPEN_SESSION_TASK = "skyq.open_browser_session"
CLOSE_SESSION_TASK = "skyq.close_browser_session"
# kombu's Redis priority lists (its defaults, named here because queue depth is read
# over all of them).
PRIORITY_STEPS = [0, 3, 6, 9]
PRIORITY_SEP = "\x06\x16"


def celery_config(settings: Settings) -> dict[str, Any]:
    soft = settings.run_timeout_seconds + 60
    hard = settings.run_timeout_seconds + 120
    visibility = settings.broker_visibility_timeout_seconds or hard + 300
    transport = {
        "visibility_timeout": visibility,
        # Look for messages past their visibility timeout every few seconds (kombu's
        # default scans every 100 s), so a redelivery is not late by minutes.
        "unacked_restore_interval": max(1, min(10, int(visibility / 2))),
        "unacked_restore_throttle": 1,
        "priority_steps": PRIORITY_STEPS,
        "sep": PRIORITY_SEP,
        "socket_timeout": 10,
        "socket_connect_timeout": 5,
        "health_check_interval": 10,
    }
    return {
        "broker_url": settings.broker_url,
        "result_backend": settings.result_backend,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_default_queue": RUNS_QUEUE,
        "task_routes": {
            RUN_TASK: {"queue": RUNS_QUEUE},
            WEBHOOK_TASK: {"queue": WEBHOOKS_QUEUE},
            REAP_TASK: {"queue": WEBHOOKS_QUEUE},
            OPEN_SESSION_TASK: {"queue": SESSIONS_QUEUE},
        },
        # Each worker also reads a queue of its own ("<node>.dq2"): the runs and the
        # close of the browser sessions it holds are sent there.
        "worker_direct": True,
        # `skyq beat` sends the reaper this often; it hands runs whose worker died back
        # to the queue, so a run never stays 'running' for a dead worker.
        "beat_schedule": {
            "skyq-reap": {"task": REAP_TASK, "schedule": settings.reaper_interval_seconds}
        },
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": soft,
        "task_time_limit": hard,
        "broker_transport_options": transport,
        "result_backend_transport_options": transport,
        "result_expires": 24 * 3600,
        "worker_max_tasks_per_child": settings.worker_max_tasks_per_child,
        # Celery sees the Python child only (its RSS, KiB); the browser is watched by
        # workers.process.release_memory_if_heavy.
        "worker_max_memory_per_child": settings.worker_max_memory_mb * 1024 or None,
        # A run in flight when Redis goes away goes on: its outcome goes to Postgres,
        # not to the broker, and its message only needs acking (or, at worst, comes
        # back to find the run finished).
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "worker_consumer": "workers.broker_loss:Consumer",
        "broker_connection_retry_on_startup": True,
        "task_track_started": True,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        # The API must answer quickly even when Redis is down: a few fast tries only.
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0.1,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
    }


def make_celery(settings: Settings | None = None) -> Celery:
    """The Celery app; its configuration is read from the settings on first use, not
    at import (``celery -A`` imports the module that holds the app)."""
    app = Celery("skyq")
    app.add_defaults(lambda: celery_config(settings or Settings()))
    return app
