"""Queue latency: from a run being accepted by POST /v1/run/tasks to it being running on
an idle worker (p50, p99), both instants read from the run row (one clock: the
worker often claims the run before the POST's answer has reached the client, so a
client-side clock would read zero); and the enqueue cost: how many POSTs a second one
API process sustains with nobody consuming."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from bench.system import System, system

SAMPLES = 50
POSTS = 300


@dataclass
class Latency:
    p50_ms: float
    p99_ms: float
    max_ms: float
    samples: int
    posts_per_second: float


def _done_at_once(call: Any) -> dict[str, Any]:
    if call.kind == "verify":
        return {"user_goal_achieved": True, "reasoning": "done"}
    return {"actions": [{"action_type": "complete", "data": {"ok": True}}]}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(samples: int = SAMPLES, posts: int = POSTS, shared: System | None = None) -> Latency:
    with system(_done_at_once, shared=shared) as deployment:
        cluster = deployment.cluster
        with deployment.worker(1, "latency"):
            headers = {"x-api-key": deployment.key}
            delays = []
            with (
                httpx.Client(base_url=cluster.url, headers=headers, timeout=30) as http,
                psycopg.connect(cluster.env["SKYQ_DATABASE_URL"], autocommit=True) as db,
            ):
                # One run first: the worker's child has its browser up before the samples.
                warm = http.post("/v1/run/tasks", json={"prompt": "Warm"}).json()["run_id"]
                http.get(f"/v1/runs/{warm}", params={"wait_seconds": 30})
                for _ in range(samples):
                    answer = http.post("/v1/run/tasks", json={"prompt": "Done"})
                    run_id = answer.json()["run_id"]
                    # The worker is idle: wait for this run to end before the next sample.
                    http.get(f"/v1/runs/{run_id}", params={"wait_seconds": 30})
                    row = db.execute(
                        "SELECT created_at, started_at FROM runs WHERE run_id = %s", (run_id,)
                    ).fetchone()
                    assert row is not None and row[1] is not None, run_id
                    delays.append((row[1] - row[0]).total_seconds() * 1000)
        rate = asyncio.run(_post_rate(cluster.url, deployment.key, posts))
        # Those runs were only for the count: the next benchmark's workers skip them.
        with psycopg.connect(cluster.env["SKYQ_DATABASE_URL"], autocommit=True) as db:
            db.execute("UPDATE runs SET status = 'canceled' WHERE status IN ('created', 'queued')")
    return Latency(
        p50_ms=statistics.median(delays),
        p99_ms=percentile(delays, 0.99),
        max_ms=max(delays),
        samples=samples,
        posts_per_second=rate,
    )


async def _post_rate(api: str, key: str, posts: int) -> float:
    async with httpx.AsyncClient(base_url=api, headers={"x-api-key": key}, timeout=60) as http:
        slots = asyncio.Semaphore(16)

        async def one(i: int) -> None:
            async with slots:
                answer = await http.post("/v1/run/tasks", json={"prompt": f"Load {i}"})
                answer.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(posts)))
        return posts / (time.perf_counter() - started)
