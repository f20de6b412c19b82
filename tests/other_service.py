"""Another team's Celery app on skyq's broker: it knows skyq only through
``skyq.celery.run_task_signature`` (or the task's name). Its worker listens on its own
queue, ``other``; OTHER_BROKER_URL and OTHER_RESULT_BACKEND point it at skyq's Redis."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

app = Celery(
    "other-service",
    broker=os.environ.get("OTHER_BROKER_URL"),
    backend=os.environ.get("OTHER_RESULT_BACKEND"),
)
app.conf.task_default_queue = "other"


@app.task(name="other.summarize")
def summarize(response: dict[str, Any]) -> dict[str, Any]:
    """The next link of a chain: it gets the run's TaskRunResponse."""
    return {"run_id": response["run_id"], "status": response["status"], **response["output"]}


@app.task(name="other.aggregate")
def aggregate(responses: list[dict[str, Any]]) -> dict[str, Any]:
    """A chord's callback: every run's TaskRunResponse at once."""
    completed = [r for r in responses if r["status"] == "completed"]
    return {
        "runs": len(responses),
        "completed": len(completed),
        "total": round(sum(r["output"]["price"] for r in completed), 2),
        "run_ids": sorted(r["run_id"] for r in responses),
    }
