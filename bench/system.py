"""A whole skyq on this machine for the benchmarks: the test suite's deployment
(tests/cluster.py: API, workers and beat as real processes on Redis, PostgreSQL and a
moto S3 server) with the stand-in model (tests/fake_llm.py) at a chosen latency."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.cluster import Cluster
from tests.fake_llm import FakeLLM
from tests.s3_server import MotoServer

for key, value in {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ.setdefault(key, value)

BENCH_REDIS_DB = 5  # and 6: apart from the test suite's databases


@dataclass
class System:
    cluster: Cluster
    model: FakeLLM
    key: str
    # Smoke runs (--quick) keep each worker for the next benchmark that asks for the
    # same one: a start costs ~7 s and the numbers of a smoke run mean nothing.
    keep_workers: bool = False
    _workers: dict[tuple[Any, ...], subprocess.Popen[bytes]] = field(default_factory=dict)

    @contextmanager
    def worker(self, concurrency: int, name: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
        """A `skyq worker` with ``concurrency`` children (and ``env`` over the
        deployment's settings), stopped afterwards unless workers are kept."""
        key = (concurrency, *sorted(env.items()))
        if key in self._workers:
            yield self._workers[key]
            return
        saved = dict(self.cluster.env)
        self.cluster.env.update(env)
        try:
            process = self.cluster.start_worker(concurrency=concurrency, name=name)
        finally:
            self.cluster.env = saved
        if self.keep_workers:
            self._workers[key] = process
            yield process
            return
        try:
            yield process
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=120)


@contextmanager
def system(
    script: Callable[[Any], Any],
    *,
    model_latency: float = 0.0,
    shared: System | None = None,
    keep_workers: bool = False,
    **settings: str,
) -> Iterator[System]:
    """A deployment whose model answers with ``script``: ``shared`` when given (one
    deployment serves every benchmark of a run, which saves its start each time),
    else a new one. The API's rate limit is off: the bench measures capacity."""
    if shared is not None:
        shared.model.reset(script)
        shared.model.delay_seconds = model_latency
        yield shared
        return
    model = FakeLLM()
    model.reset(script)
    model.delay_seconds = model_latency
    s3 = MotoServer()
    home = Path(tempfile.mkdtemp(prefix="skyq-bench-"))
    cluster = Cluster(
        home,
        model.url,
        s3.url,
        SKYQ_BROKER_URL=f"redis://127.0.0.1:6379/{BENCH_REDIS_DB}",
        SKYQ_RESULT_BACKEND=f"redis://127.0.0.1:6379/{BENCH_REDIS_DB + 1}",
        SKYQ_LOG_LEVEL="WARNING",
        SKYQ_API_RATE_LIMIT_PER_SECOND="0",
        **settings,
    )
    try:
        cluster.start_api()
        yield System(cluster, model, cluster.create_key("bench"), keep_workers)
    finally:
        cluster.close()
        s3.close()
        model.close()
