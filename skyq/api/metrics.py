"""GET /metrics on the API: the fleet as Prometheus sees it, read at scrape time from
the run table and the broker (so any number of API processes agree). Workers serve
their own counters (runs, steps, tokens, browsers, webhooks) on
SKYQ_WORKER_METRICS_PORT."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import redis
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from skyq.api.state import ApiState
from skyq.errors import DatabaseUnavailableError
from skyq.queue import RUNS_QUEUE, WEBHOOKS_QUEUE, queue_depth

log = logging.getLogger(__name__)
router = APIRouter()


class FleetCollector:
    def __init__(self, state: ApiState) -> None:
        self.state = state
        self.redis = redis.Redis.from_url(
            state.settings.broker_url, socket_timeout=2, socket_connect_timeout=2
        )

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("skyq_up", "Whether the database and broker answered", labels=["of"])
        waiting: int | None = None
        try:
            counts = self.state.store.count_by_status()
        except DatabaseUnavailableError:
            up.add_metric(["database"], 0)
        else:
            up.add_metric(["database"], 1)
            runs = GaugeMetricFamily("skyq_runs", "Runs by status", labels=["status"])
            waiting = counts.pop("waiting")
            for status, count in sorted(counts.items()):
                runs.add_metric([status], count)
            yield runs
            yield GaugeMetricFamily(
                "skyq_runs_waiting_dispatch",
                "Accepted runs not yet on the queue (held by the window, or the broker was down)",
                value=waiting,
            )
        try:
            depths = {
                queue: queue_depth(self.redis, queue) for queue in (RUNS_QUEUE, WEBHOOKS_QUEUE)
            }
        except redis.RedisError:
            up.add_metric(["broker"], 0)
        else:
            up.add_metric(["broker"], 1)
            depth = GaugeMetricFamily(
                "skyq_queue_depth", "Messages waiting on the broker", labels=["queue"]
            )
            for queue, count in depths.items():
                depth.add_metric([queue], count)
            yield depth
            if waiting is not None:
                # What autoscalers should follow: every run that waits for a worker.
                yield GaugeMetricFamily(
                    "skyq_run_backlog",
                    "Runs waiting for a worker: on the queue (every priority) or in the outbox",
                    value=depths[RUNS_QUEUE] + waiting,
                )
        yield up


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry = CollectorRegistry()
    registry.register(FleetCollector(request.app.state.skyq))
    body = await run_in_threadpool(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
