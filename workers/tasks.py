"""The Celery task: take a run id, call the runner once, turn the outcome into done or
retry. No prompts, no Playwright, no SQL here."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from skyq import reaper
from skyq.agent.recorder import StepReport
from skyq.dispatch import Dispatcher
from skyq.errors import InfrastructureError, RunBusyError
from skyq.queue import (
    CLOSE_SESSION_TASK,
    OPEN_SESSION_TASK,
    REAP_TASK,
    RUN_TASK,
    WEBHOOK_TASK,
    RunQueue,
)
from skyq.runner import RunServices, execute_run, record_request
from skyq.schemas import BrowserSessionStatus, TaskRunResponse
from skyq.webhooks import webhook_due
from workers import process
from workers.celery_app import app

# Acks that outlive their broker connection must not take the worker down.
BROKER_LOSS_REQUEST = "workers.broker_loss:Request"
log = logging.getLogger(__name__)


def _progress(task: Task) -> Any:
    """The step callback: the run's progress as task state RUNNING, in the result
    backend (``AsyncResult(run_id).info``) and as a ``task-running`` event, whose
    ``result`` Flower shows (and serves at /api/task/info/<run_id>)."""
    # Called on the browser's loop thread, where Celery's thread-local request is
    # empty: what it needs is taken now, on the task's own thread.
    task_id, hostname = task.request.id, task.request.hostname

    def report(step: StepReport) -> None:
        last = step.actions[-1] if step.actions else (None, None)
        meta = {
            "step": step.order,
            "max_steps": step.max_steps,
            "url": step.url,
            "last_action": last[0],
            "last_element": last[1],
        }
        try:
            task.update_state(task_id=task_id, state="RUNNING", meta=meta)
            with app.events.default_dispatcher(hostname=hostname) as events:
                events.send("task-running", uuid=task_id, result=meta)
        except Exception:  # progress is for watchers; the run goes on without it
            log.warning("progress not published", extra={"run_id": task_id}, exc_info=True)

    return report


def _dispatcher(services: RunServices, queue: RunQueue) -> Dispatcher:
    return Dispatcher(services.store, queue, services.settings.dispatch_window_per_org)


@app.task(name=RUN_TASK, bind=True, max_retries=None, Request=BROKER_LOSS_REQUEST)
def run_task(
    self: Task,
    run_id: str | None = None,
    request: dict[str, Any] | None = None,
    organization_id: str | None = None,
) -> dict[str, Any]:
    """Execute one run; returns its TaskRunResponse as a dict.

    Called with ``run_id`` by skyq's API. Another service may send ``request`` (a
    TaskRunRequest body) instead: the run row is then created here, idempotently,
    with the message's task id as the run id.
    """
    worker = process.start()
    services = worker.services
    if request is not None:
        run_id = record_request(services, request, run_id or self.request.id, organization_id)
    if run_id is None:
        raise ValueError("skyq.run_task needs run_id or request")
    wait = worker.admit(run_id)
    if wait:
        # Its site is at its limit (SKYQ_DOMAIN_MAX_*): the run stays queued.
        raise self.retry(countdown=wait)
    future = worker.loop.submit(execute_run(run_id, services, on_step=_progress(self)))
    try:
        # The agent loop owns the run's deadline; this wait (like Celery's soft limit
        # on prefork; the threads pool has no time limits) is only the backstop.
        response = future.result(timeout=services.settings.run_timeout_seconds + 60)
    except RunBusyError as busy:
        # Another live attempt holds the run (a duplicate delivery, or the redelivery
        # of a run whose worker just died and whose lease has not expired yet).
        raise self.retry(countdown=max(1.0, busy.retry_after), exc=busy) from None
    except InfrastructureError as lost:
        # The database (or the broker) went away under the attempt, which gave the run
        # up; once its lease has run out, this delivery starts it over.
        raise self.retry(countdown=services.settings.lease_seconds, exc=lost) from None
    except (SoftTimeLimitExceeded, TimeoutError):
        future.cancel()
        worker.release(run_id)
        raise
    _after_run(worker, response)
    return response.model_dump(mode="json")


def _after_run(worker: process.WorkerState, response: TaskRunResponse) -> None:
    """The run's places are free (its site's, its organization's window): give them on;
    send its webhook; give memory back if the browser has grown too big."""
    services = worker.services
    worker.release(response.run_id)
    queue = RunQueue(app)
    if webhook_due(services.store, response):
        queue.enqueue_webhook(response.run_id)
    _dispatcher(services, queue).dispatch(services.store.get_run(response.run_id).organization_id)
    process.release_memory_if_heavy()


@app.task(name=WEBHOOK_TASK, bind=True, max_retries=None, Request=BROKER_LOSS_REQUEST)
def send_webhook(self: Task, run_id: str) -> dict[str, Any]:
    """POST the run's webhook; retried with exponential backoff until it is delivered
    or ``SKYQ_WEBHOOK_MAX_ATTEMPTS`` attempts have failed (each one is recorded)."""
    sender = process.start().webhooks
    attempt = self.request.retries + 1
    outcome = sender.attempt(run_id, attempt)
    if outcome.delivered or attempt >= sender.settings.webhook_max_attempts:
        return {"delivered": outcome.delivered, "attempts": attempt, "error": outcome.error}
    raise self.retry(countdown=sender.backoff(attempt))


@app.task(name=REAP_TASK, Request=BROKER_LOSS_REQUEST)
def reap() -> dict[str, list[str]]:
    """Publish the outbox and hand back runs whose worker died (sent by `skyq beat`)."""
    services = process.start().services
    dispatcher = _dispatcher(services, RunQueue(app))
    done = reaper.reap(dispatcher, lease_seconds=services.settings.lease_seconds)
    return {"published": done.published, "requeued": done.requeued}


@app.task(name=OPEN_SESSION_TASK, bind=True, Request=BROKER_LOSS_REQUEST)
def open_browser_session(self: Task, browser_session_id: str) -> dict[str, str]:
    """Open a browser session in this worker's browser; its runs come to this worker's
    own queue from now on (only threads-pool workers read the sessions queue: a
    prefork child could not be addressed)."""
    worker = process.start()
    keeper = worker.keeper(self.request.hostname)
    status = worker.loop.run(keeper.open(browser_session_id), timeout=120)
    if status == BrowserSessionStatus.running:
        # Runs already sent for it waited for a worker to hold it: this one.
        org = keeper.rows.get(browser_session_id).organization_id
        _dispatcher(worker.services, RunQueue(app)).dispatch(org)
    return {"browser_session_id": browser_session_id, "status": status.value}


@app.task(name=CLOSE_SESSION_TASK, bind=True, Request=BROKER_LOSS_REQUEST)
def close_browser_session(self: Task, browser_session_id: str) -> dict[str, object]:
    """Give back the context of a session that ended (closed by its caller, or timed
    out): sent to the worker that holds it."""
    worker = process.start()
    closed = worker.loop.run(worker.keeper(self.request.hostname).close(browser_session_id))
    return {"browser_session_id": browser_session_id, "closed": closed}
