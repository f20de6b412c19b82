"""skyq's own share of a run's wall time with a model that takes 1 s a call: the 5-step
task run one after another on an idle worker, each run's wall time (POST to the
answer of the long poll) against the time its model calls took."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.pages import serve, write_pages
from bench.throughput import TASK, signup_model

RUNS = 5
MODEL_SECONDS = 1.0

if TYPE_CHECKING:
    from bench.system import System


@dataclass
class Share:
    runs: int
    model_seconds: float
    wall_seconds: list[float]
    model_calls: list[int]

    @property
    def shares(self) -> list[float]:
        return [
            (wall - calls * self.model_seconds) / wall
            for wall, calls in zip(self.wall_seconds, self.model_calls, strict=True)
        ]

    @property
    def median_share(self) -> float:
        return statistics.median(self.shares)


def run(
    runs: int = RUNS, model_seconds: float = MODEL_SECONDS, shared: System | None = None
) -> Share:
    import skyq
    from bench.system import system

    with tempfile.TemporaryDirectory() as folder:
        write_pages(Path(folder))
        with (
            serve(Path(folder)) as base,
            system(signup_model, model_latency=model_seconds, shared=shared) as deployment,
        ):
            cluster, model = deployment.cluster, deployment.model
            with deployment.worker(1, "share"):
                result = Share(runs, model_seconds, [], [])

                async def one() -> None:
                    async with skyq.AsyncClient(cluster.url, api_key=deployment.key) as client:
                        before = len(model.calls)
                        started = time.perf_counter()
                        done = await client.run_task(
                            TASK, url=f"{base}/signup.html", wait_for_completion=True, timeout=300
                        )
                        result.wall_seconds.append(time.perf_counter() - started)
                        result.model_calls.append(len(model.calls) - before)
                        assert done.status == "completed", done.failure_reason

                asyncio.run(one())  # the child's browser up before the clock starts
                result.wall_seconds.clear()
                result.model_calls.clear()
                for _ in range(runs):
                    asyncio.run(one())
    return result
