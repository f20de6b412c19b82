"""Memory of a worker with its whole process tree (Python parent and children, the
Playwright driver, every Chromium process), by PSS, so shared pages count once:

- idle: a worker that can take one run, its browser up, no run;
- over consecutive runs: the tree after each run (no growth beyond noise);
- per further concurrent run: the peak while N runs go at once on a worker of
  concurrency N, against the peak with one, divided by N - 1.

Both pools: prefork (N children, a Chromium each) and threads (N runs as contexts of
the worker's one Chromium).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.pages import serve, write_pages
from bench.throughput import signup_model, signup_runs
from skyq.browser.memory import tree_pss_bytes

RUNS = 100
WIDE = 4
MB = 2**20

if TYPE_CHECKING:
    from bench.system import System


POOLS = ("prefork", "threads")


@dataclass
class Memory:
    pool: str
    idle_mb: float
    after_runs_mb: list[float] = field(default_factory=list)
    peak_one_mb: float = 0.0
    peak_wide_mb: float = 0.0
    wide: int = WIDE

    @property
    def per_further_run_mb(self) -> float:
        return (self.peak_wide_mb - self.peak_one_mb) / (self.wide - 1)

    @property
    def growth_mb(self) -> float:
        """Median of the last tenth of the runs against the first tenth."""
        tenth = max(1, len(self.after_runs_mb) // 10)
        return statistics.median(self.after_runs_mb[-tenth:]) - statistics.median(
            self.after_runs_mb[:tenth]
        )


class _Peak:
    """The largest tree PSS seen while it runs, sampled every 100 ms."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> _Peak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, tree_pss_bytes(self.root))


def run(
    runs: int = RUNS, wide: int = WIDE, rounds: int = 3, shared: System | None = None
) -> list[Memory]:
    from bench.system import system

    results = []
    with tempfile.TemporaryDirectory() as folder:
        write_pages(Path(folder))
        with serve(Path(folder)) as base, system(signup_model, shared=shared) as deployment:
            url = f"{base}/signup.html"
            cluster = deployment.cluster

            def batch(count: int) -> None:
                signup_runs(cluster.url, deployment.key, url, count)

            for pool in POOLS:
                with deployment.worker(1, f"memory-{pool}-1", SKYQ_WORKER_POOL=pool) as worker:
                    batch(1)
                    result = Memory(pool, idle_mb=tree_pss_bytes(worker.pid) / MB, wide=wide)
                    with _Peak(worker.pid) as peak:
                        for _ in range(runs):
                            batch(1)
                            result.after_runs_mb.append(tree_pss_bytes(worker.pid) / MB)
                    result.peak_one_mb = peak.peak / MB

                with deployment.worker(
                    wide, f"memory-{pool}-{wide}", SKYQ_WORKER_POOL=pool
                ) as worker:
                    batch(wide)
                    with _Peak(worker.pid) as peak:
                        for _ in range(rounds):
                            batch(wide)
                    result.peak_wide_mb = peak.peak / MB
                results.append(result)
    return results
