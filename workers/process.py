"""What each worker process owns for its lifetime: a loop thread, one Chromium on it,
and the stores. On the prefork pool each child makes its own after the fork (a browser
launched before it breaks every task); on the threads pool the worker makes one at
boot and every task thread hands its run to the same loop and browser."""

from __future__ import annotations

import gc
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

import redis
from celery.concurrency import get_implementation
from celery.concurrency.prefork import TaskPool as PreforkPool
from celery.signals import (
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_shutdown,
)

from skyq import logs, metrics
from skyq.bootstrap import open_run_store
from skyq.browser import BrowserRoom
from skyq.browser.memory import tree_pss_bytes
from skyq.config import Settings
from skyq.db.session_store import BrowserSessionStore
from skyq.errors import SkyqError
from skyq.links import Links
from skyq.loop_thread import LoopThread
from skyq.politeness import DomainGate
from skyq.queue import RunQueue
from skyq.runner import RunServices, browser_options
from skyq.schemas import BrowserSessionStatus
from skyq.session_endings import end_session
from skyq.session_keeper import SessionKeeper
from skyq.storage import open_artifact_store
from skyq.webhooks import WebhookSender

log = logging.getLogger(__name__)


@dataclass
class WorkerState:
    loop: LoopThread
    services: RunServices
    webhooks: WebhookSender
    gate: DomainGate | None  # None: no per-site limits
    sessions: SessionKeeper | None = None  # made by the first browser session opened here

    def keeper(self, worker: str) -> SessionKeeper:
        """The keeper of this process's browser sessions; ``worker`` is its Celery node."""
        if self.sessions is None:
            self.sessions = SessionKeeper(self.services, worker)
        return self.sessions

    def admit(self, run_id: str) -> float:
        """0 when the run may start now; else seconds until it asks again."""
        if self.gate is None:
            return 0.0
        return self.gate.admit(run_id, self.services.store.get_run(run_id).url)

    def release(self, run_id: str) -> None:
        if self.gate is not None:
            self.gate.release(run_id, self.services.store.get_run(run_id).url)


_state: WorkerState | None = None
_starting = threading.Lock()  # task threads of the threads pool may all ask at once


def start() -> WorkerState:
    global _state
    with _starting:
        if _state is None:
            _state = _make_state()
        return _state


def _make_state() -> WorkerState:
    settings = Settings()
    logs.configure(settings.log_level)
    store = open_run_store(settings)
    room = BrowserRoom(browser_options(settings))
    loop = LoopThread("skyq-browser")
    try:
        loop.run(room.browser(), timeout=60)  # launch now, not inside the first run
    except SkyqError as exc:
        # The child stays up: each run will fail with this reason, which is clearer to
        # a caller than a worker that keeps restarting.
        log.error("browser launch failed", extra={"error": str(exc)})
    artifacts = open_artifact_store(settings)
    services = RunServices(settings=settings, store=store, artifacts=artifacts, room=room)
    links = Links.from_settings(settings, artifacts)
    return WorkerState(
        loop=loop,
        services=services,
        webhooks=WebhookSender(settings, store, links),
        gate=_domain_gate(settings),
    )


def _domain_gate(settings: Settings) -> DomainGate | None:
    if not (settings.domain_max_concurrency or settings.domain_max_starts_per_minute):
        return None
    return DomainGate(
        redis.Redis.from_url(settings.broker_url, socket_timeout=2, socket_connect_timeout=2),
        max_running=settings.domain_max_concurrency,
        max_starts_per_minute=settings.domain_max_starts_per_minute,
        hold_seconds=settings.run_timeout_seconds + 300,
    )


def release_memory_if_heavy() -> None:
    """After a run: relaunch the browser when this process and its browser together
    have grown past SKYQ_WORKER_MAX_MEMORY_MB (runs still in the old browser finish
    there first)."""
    if _state is None:
        return
    cap = _state.services.settings.worker_max_memory_mb * 1024 * 1024
    if not cap:
        return
    used = tree_pss_bytes(os.getpid())
    if used > cap:
        log.warning(
            "memory cap passed; relaunching the browser",
            extra={"pss_mb": used // 2**20, "cap_mb": cap // 2**20},
        )
        _state.loop.run(_state.services.room.retire_browser(), timeout=30)


def stop() -> None:
    global _state
    if _state is None:
        return
    try:
        _end_sessions(_state)
        _state.loop.run(_state.services.room.close(), timeout=20)
    finally:
        _state.loop.stop()
        _state = None


def _end_sessions(state: WorkerState) -> None:
    """The browser sessions held here end with this process; runs waiting for them are
    failed now rather than left for the scheduler to find."""
    if state.sessions is None:
        return
    from workers.celery_app import app

    closed = state.loop.run(state.sessions.close_all(), timeout=20)
    rows = BrowserSessionStore(state.services.store)
    settings = state.services.settings
    for browser_session_id in closed:
        try:
            end_session(
                state.services.store,
                RunQueue(app),
                settings.dispatch_window_per_org,
                rows.get(browser_session_id),
                BrowserSessionStatus.failed,
                "the worker holding it stopped",
                tell_worker=False,
            )
        except SkyqError:  # the database is away: the scheduler ends it once its lease is out
            log.warning("session not ended", extra={"browser_session_id": browser_session_id})


def _forks(pool: Any) -> bool:
    implementation = get_implementation(pool)
    return isinstance(implementation, type) and issubclass(implementation, PreforkPool)


@worker_init.connect
def _on_worker_init(sender: Any = None, **_: Any) -> None:
    if sender is None:
        return
    if _forks(sender.pool_cls):
        # The children share this process's pages (litellm alone is ~135 MB) until
        # one writes them, and every pass of the cyclic collector writes the header of
        # each object it visits: unfrozen, the worker tree grew ~100 MB over 60 runs.
        gc.freeze()
    else:
        # This process runs the tasks: the browser is launched now, not in a run.
        start()


@worker_shutdown.connect
def _on_worker_shutdown(**_: Any) -> None:
    stop()  # nothing to do on prefork: this process never started a browser


@worker_process_init.connect
def _on_process_init(**_: Any) -> None:
    start()


@worker_process_shutdown.connect
def _on_process_shutdown(**_: Any) -> None:
    stop()
    metrics.child_exited(os.getpid())
