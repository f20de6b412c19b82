"""Celery signatures of skyq runs, for services that start runs from their own Celery
app: in ``chain``, ``group`` and ``chord``, on the broker skyq's workers listen to.

    from celery import chain, chord
    from skyq.celery import run_task_signature

    chain(run_task_signature("Price of the top product", url=...), notify.s()).delay()
    chord([run_task_signature(p, url=u) for p, u in jobs], aggregate.s()).delay()

The task's result is the run's TaskRunResponse as a dict, so the next task of a chain
gets the output. Services that do not import skyq send the task by name,
``skyq.run_task`` on the ``skyq.runs`` queue, with ``request`` (a TaskRunRequest body)
in its kwargs. The worker writes the run row itself, with the message's task id for
the run id, so a delivery repeated by the broker is one run.
"""

from __future__ import annotations

from typing import Any

from celery import Signature

from skyq.queue.app import RUN_TASK, RUNS_QUEUE
from skyq.queue.producer import broker_priority
from skyq.schemas import TaskRunRequest


def run_task_signature(
    prompt: str,
    url: str | None = None,
    *,
    organization_id: str | None = None,
    **fields: Any,
) -> Signature:
    """A signature of one run; ``fields`` are any TaskRunRequest fields. The request is
    validated here, so a bad one fails in the caller, not later in a worker.

    Immutable: inside a chain it does not take the previous task's result as an
    argument. ``organization_id`` defaults to the workers' SKYQ_ORGANIZATION_NAME."""
    request = TaskRunRequest(prompt=prompt, url=url, **fields)
    kwargs: dict[str, Any] = {"request": request.model_dump(mode="json", exclude_defaults=True)}
    if organization_id is not None:
        kwargs["organization_id"] = organization_id
    priority = broker_priority(5 if request.priority is None else request.priority)
    return Signature(RUN_TASK, kwargs=kwargs, queue=RUNS_QUEUE, priority=priority, immutable=True)
