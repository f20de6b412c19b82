"""Prometheus metrics of runs, steps, browsers, the model and webhooks.

A worker is many processes (Celery's prefork children), so its metrics use
prometheus_client's multiprocess mode: each child writes to files in
PROMETHEUS_MULTIPROC_DIR and the worker's main process serves their sum on
SKYQ_WORKER_METRICS_PORT. The mode is fixed when prometheus_client is first imported,
so this module imports it lazily and `skyq worker` calls ``use_multiprocess_dir``
before anything records a metric.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DURATION_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, float("inf"))
STEP_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, float("inf"))


@dataclass
class _Metrics:
    runs_finished: Any
    run_seconds: Any
    step_seconds: Any
    llm_tokens: Any
    llm_cost: Any
    browser_launches: Any
    browsers_open: Any
    webhook_failures: Any


_metrics: _Metrics | None = None


def use_multiprocess_dir(directory: Path) -> None:
    """Make this process and its future children record to ``directory`` (emptied:
    files of an earlier worker would be summed in)."""
    if "prometheus_client" in sys.modules:
        log.warning("prometheus_client imported before the multiprocess dir was set")
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def _get() -> _Metrics:
    global _metrics
    if _metrics is None:
        from prometheus_client import Counter, Gauge, Histogram

        _metrics = _Metrics(
            runs_finished=Counter("skyq_runs_finished", "Runs that ended, by status", ["status"]),
            run_seconds=Histogram(
                "skyq_run_duration_seconds",
                "Wall time of run attempts",
                ["status"],
                buckets=DURATION_BUCKETS,
            ),
            step_seconds=Histogram(
                "skyq_step_duration_seconds", "Wall time of agent steps", buckets=STEP_BUCKETS
            ),
            llm_tokens=Counter("skyq_llm_tokens", "Model tokens used", ["kind"]),
            llm_cost=Counter("skyq_llm_cost_dollars", "Model cost, as litellm prices it"),
            browser_launches=Counter(
                "skyq_browser_launches", "Chromium launches (relaunches after a crash included)"
            ),
            browsers_open=Gauge(
                "skyq_browsers_open", "Chromium instances running", multiprocess_mode="livesum"
            ),
            webhook_failures=Counter(
                "skyq_webhook_failures", "Webhook deliveries that failed (each attempt)"
            ),
        )
    return _metrics


def run_finished(status: str, seconds: float) -> None:
    metrics = _get()
    metrics.runs_finished.labels(status=status).inc()
    metrics.run_seconds.labels(status=status).observe(seconds)


def step_finished(seconds: float, input_tokens: int, output_tokens: int, cost: float) -> None:
    metrics = _get()
    metrics.step_seconds.observe(seconds)
    metrics.llm_tokens.labels(kind="input").inc(input_tokens)
    metrics.llm_tokens.labels(kind="output").inc(output_tokens)
    metrics.llm_cost.inc(cost)


def browser_launched() -> None:
    metrics = _get()
    metrics.browser_launches.inc()
    metrics.browsers_open.set(1)


def browser_gone() -> None:
    _get().browsers_open.set(0)


def webhook_failed() -> None:
    _get().webhook_failures.inc()


def child_exited(pid: int) -> None:
    """Drop a dead child's live gauges (its counters stay summed in)."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def serve_multiprocess(port: int, address: str = "0.0.0.0") -> None:
    """Serve the sum of every process's metrics over HTTP (the worker's main process)."""
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    start_http_server(port, addr=address, registry=registry)
