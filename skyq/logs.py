"""Structured logs: one JSON object a line, with the run id wherever there is one."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# Celery hands its task records a ``data`` extra holding the task's arguments and return
# value (a run's output and request): only these of its keys are logged.
_CELERY_DATA = {"id", "name", "runtime", "exc"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if isinstance(entry.get("data"), dict):
            entry["data"] = {k: v for k, v in entry["data"].items() if k in _CELERY_DATA}
            task_id = str(entry["data"].get("id", ""))
            if task_id.startswith("tsk_"):
                entry.setdefault("run_id", task_id)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str | int = "WARNING") -> None:
    # The real stderr: in a worker child Celery has swapped sys.stderr for a proxy that
    # writes into logging, where these lines would go round and be dropped.
    handler = logging.StreamHandler(sys.__stderr__)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("LiteLLM", "litellm", "httpx", "httpcore", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
