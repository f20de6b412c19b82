"""A worker on Celery's threads pool: several runs at once as contexts of the worker's
one Chromium (SDK -> API -> Redis -> worker -> PostgreSQL and S3, real processes)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from pathlib import Path

import pytest

import skyq
from tests.cluster import Cluster, wait_until
from tests.fake_llm import Call
from tests.integration.test_distributed import PRODUCTS, shop_model

CONCURRENCY = 3


class InFlight:
    """The shop model, counting how many of its calls are answered at once."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self._lock = threading.Lock()

    def __call__(self, call: Call) -> dict:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            return shop_model(call)
        finally:
            with self._lock:
                self.now -= 1


def browser_processes(cluster: Cluster, worker_pid: int) -> list[int]:
    """Chromium's browser processes below the worker (its renderers and helpers carry a
    --type= switch; the browser process itself does not)."""
    found = []
    for pid in cluster.alive(cluster.descendants(worker_pid)):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"chromium") and not any(a.startswith(b"--type=") for a in argv):
            found.append(pid)
    return found


@pytest.fixture(scope="module")
def threads_cluster(tmp_path_factory, fake_llm_server, s3_server):
    deployment = Cluster(
        tmp_path_factory.mktemp("threads"),
        fake_llm_server.url,
        s3_server,
        SKYQ_WORKER_POOL="threads",
    )
    try:
        deployment.start_api()
        deployment.start_beat()
        deployment.key = deployment.create_key("org-threads")
        yield deployment
    finally:
        deployment.close()


async def _run_all(cluster: Cluster, prompts: list[str], url: str) -> list[skyq.TaskRunResponse]:
    async with skyq.AsyncClient(cluster.url, api_key=cluster.key) as client:
        return await asyncio.gather(
            *(
                client.run_task(prompt, url=url, wait_for_completion=True, timeout=180)
                for prompt in prompts
            )
        )


def test_runs_go_at_once_in_the_workers_one_browser(threads_cluster, fake_llm_server, sites):
    model = InFlight()
    fake_llm_server.reset(model)
    worker = threads_cluster.start_worker(concurrency=CONCURRENCY, name="threads")
    try:
        assert len(browser_processes(threads_cluster, worker.pid)) == 1
        names = [*PRODUCTS, *PRODUCTS][:6]
        prompts = [*(f"Price of {name}" for name in names), *("Slow 2" for _ in range(3))]
        done = asyncio.run(_run_all(threads_cluster, prompts, sites.url("products.html")))
    finally:
        threads_cluster.processes.remove(worker)
        worker.terminate()
        worker.wait(timeout=60)
    assert [r.status for r in done] == ["completed"] * len(prompts)
    # Each run kept to its own page and its own answer, though they shared a browser.
    for name, response in zip(names, done, strict=False):
        assert response.output == {"name": name, "price": PRODUCTS[name]}
    assert model.most >= 2, "runs overlapped"
    assert model.most <= CONCURRENCY
    assert not fake_llm_server.errors


def test_a_browser_retired_for_memory_lets_its_runs_finish(threads_cluster, fake_llm_server, sites):
    """With the memory cap below what any browser uses, every run's end retires the
    browser while the others are still in it: they finish there, the next runs get a
    fresh one, and no retired browser is left behind."""
    fake_llm_server.reset(shop_model)
    threads_cluster.env["SKYQ_WORKER_MAX_MEMORY_MB"] = "1"
    try:
        worker = threads_cluster.start_worker(concurrency=CONCURRENCY, name="retiring")
    finally:
        threads_cluster.env.pop("SKYQ_WORKER_MAX_MEMORY_MB")
    log = threads_cluster.home / "retiring.log"
    try:
        prompts = ["Slow 1", "Slow 2", "Slow 3", "Slow 1", "Slow 2", "Slow 3"]
        done = asyncio.run(_run_all(threads_cluster, prompts, sites.url("products.html")))
        assert [r.status for r in done] == ["completed"] * len(prompts)
        # A run's end is written a moment before its task looks at the memory.
        wait_until(
            lambda: log.read_text().count("memory cap passed") >= len(prompts),
            30,
            "every run's end to retire the browser",
        )
        assert len(browser_processes(threads_cluster, worker.pid)) <= 1
    finally:
        threads_cluster.processes.remove(worker)
        worker.terminate()
        worker.wait(timeout=60)


def test_a_killed_worker_loses_no_run_in_its_browser(threads_cluster, fake_llm_server, sites):
    """On the threads pool a worker's death ends every run in its browser at once: each
    is handed to the next worker by its lease (the reaper) and completes there."""
    fake_llm_server.reset(shop_model)
    old = threads_cluster.start_worker(concurrency=CONCURRENCY, name="doomed")
    with skyq.Client(threads_cluster.url, api_key=threads_cluster.key) as client:
        victims = [client.run_task("Slow 3", url=sites.url("long.html")) for _ in range(2)]

        def running() -> list[dict]:
            return [client.get_run(v.run_id).model_dump() for v in victims]

        wait_until(
            lambda: all(r["status"] == "running" for r in running()), 60, "both runs running"
        )
        tree = threads_cluster.descendants(old.pid)
        os.killpg(old.pid, signal.SIGKILL)  # the worker, its driver and its browser
        old.wait(timeout=30)
        threads_cluster.processes.remove(old)
        new = threads_cluster.start_worker(concurrency=CONCURRENCY, name="heir")
        try:
            finals = [client.wait_for_run(v.run_id, timeout=120) for v in victims]
        finally:
            threads_cluster.processes.remove(new)
            new.terminate()
            new.wait(timeout=60)
    assert [f.status for f in finals] == ["completed", "completed"], [
        f.failure_reason for f in finals
    ]
    assert [f.output for f in finals] == [{"steps": 3}, {"steps": 3}]
    # Chromium sees its driver's pipe close and exits: nothing of the old worker is left.
    wait_until(lambda: threads_cluster.alive(tree) == [], 30, "the killed worker's browser to end")
