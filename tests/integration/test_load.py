"""Thirty mixed runs from three organizations on two workers: every run ends as it
should, none runs twice, and the browsers do not grow run over run. A burst from one
organization does not keep another's run waiting behind it."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import psycopg
import pytest

import skyq
from skyq.client.errors import ConflictError
from skyq.schemas import RunStatus
from tests.canary import Canary
from tests.cluster import Cluster
from tests.integration.test_distributed import PRODUCTS, shop_model


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, fake_llm_server, s3_server):
    fake_llm_server.reset(shop_model)
    deployment = Cluster(
        tmp_path_factory.mktemp("load"),
        fake_llm_server.url,
        s3_server,
        SKYQ_BROKER_URL="redis://127.0.0.1:6379/9",
        SKYQ_RESULT_BACKEND="redis://127.0.0.1:6379/10",
        SKYQ_DISPATCH_WINDOW_PER_ORG="2",
    )
    try:
        deployment.start_api()
        deployment.start_beat()
        deployment.workers = [
            deployment.start_worker(concurrency=1, name=f"worker{n}") for n in (1, 2)
        ]
        deployment.keys = [deployment.create_key(f"load-{i}") for i in range(3)]
        yield deployment
    finally:
        deployment.close()


def tree_pss_kib(cluster: Cluster) -> int:
    """Proportional memory of the worker and everything below it, browsers included
    (summing RSS would count Chromium's shared pages many times over)."""
    total = 0
    roots = [worker.pid for worker in cluster.workers]
    for pid in roots + [pid for root in roots for pid in cluster.descendants(root)]:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total += int(next(line.split()[1] for line in text.splitlines() if line.startswith("Pss:")))
    return total


def renderers(cluster: Cluster) -> int:
    pids = [pid for worker in cluster.workers for pid in cluster.descendants(worker.pid)]
    return sum(
        b"--type=renderer" in Path(f"/proc/{pid}/cmdline").read_bytes()
        for pid in cluster.alive(pids)
    )


def test_thirty_mixed_runs_from_three_organizations(cluster, fake_llm_server, sites):
    fake_llm_server.reset(shop_model)
    canary = Canary()
    names = list(PRODUCTS)

    def plan(i: int) -> tuple[str, dict]:
        if i % 6 == 4:
            return "timed_out", {"prompt": "Forever", "url": sites.url("long.html"), "max_steps": 2}
        if i % 6 == 5:
            return "failed", {"prompt": "Price of Aurora Lamp", "url": f"{canary.url}/"}
        return "completed", {
            "prompt": f"Price of {names[i % 4]}",
            "url": sites.url("products.html"),
        }

    async def run_all(indexes: range) -> list[tuple[str, skyq.TaskRunResponse]]:
        clients = [skyq.AsyncClient(cluster.url, api_key=key) for key in cluster.keys]
        try:
            plans = [plan(i) for i in indexes]
            runs = await asyncio.gather(
                *(
                    clients[i % 3].run_task(wait_for_completion=True, timeout=300, **body)
                    for i, (_, body) in zip(indexes, plans, strict=True)
                )
            )
            return [(expected, run) for (expected, _), run in zip(plans, runs, strict=True)]
        finally:
            for sdk in clients:
                await sdk.aclose()

    idle_renderers = renderers(cluster)
    first = asyncio.run(run_all(range(6)))
    after_six = tree_pss_kib(cluster)
    rest = asyncio.run(run_all(range(6, 30)))
    after_thirty = tree_pss_kib(cluster)
    canary.close()
    print(f"worker tree PSS: {after_six} KiB after 6 runs, {after_thirty} KiB after 30")

    results = first + rest
    assert len(results) == 30
    for expected, run in results:
        assert run.status == expected, (run.run_request.prompt, run.failure_reason)
    with psycopg.connect(cluster.env["SKYQ_DATABASE_URL"]) as connection:
        attempts = connection.execute(
            "SELECT attempt, count(*) FROM runs GROUP BY attempt"
        ).fetchall()
        organizations = connection.execute(
            "SELECT count(DISTINCT organization_id) FROM runs"
        ).fetchone()[0]
    assert attempts == [(1, 30)], "no run was executed twice"
    assert organizations == 3
    assert canary.hits == []
    assert renderers(cluster) <= idle_renderers + 1, "contexts are closed after each run"
    assert after_thirty <= after_six * 1.5, (after_six, after_thirty)


def test_a_burst_from_one_organization_does_not_hold_up_another(cluster, fake_llm_server, sites):
    fake_llm_server.reset(shop_model)
    burst_key, other_key = cluster.keys[0], cluster.keys[1]
    with skyq.Client(cluster.url, api_key=burst_key) as burst:
        names = list(PRODUCTS)
        flood = [
            burst.run_task(f"Price of {names[i % 4]}", url=sites.url("products.html"))
            for i in range(60)
        ]
    with skyq.Client(cluster.url, api_key=other_key) as other:
        mine = other.run_task(
            "Price of Comet Headphones",
            url=sites.url("products.html"),
            wait_for_completion=True,
            timeout=120,
        )
    assert mine.status == "completed" and mine.output["price"] == 119.5
    with psycopg.connect(cluster.env["SKYQ_DATABASE_URL"]) as connection:
        (burst_org,) = connection.execute(
            "SELECT organization_id FROM runs WHERE run_id = %s", (flood[0].run_id,)
        ).fetchone()
        ahead = connection.execute(
            "SELECT count(*) FROM runs WHERE organization_id = %s"
            " AND started_at > %s AND started_at < %s",
            (burst_org, mine.created_at, mine.started_at),
        ).fetchone()[0]
    # Without the window, the other run would wait behind the dozens of the burst still
    # queued; with it (2 per organization) only what was on the queue when it came.
    assert ahead <= 2, f"{ahead} runs of the burst started while the other run waited"
    # The rest of the burst is canceled: runs still waiting in the outbox end at once,
    # and every run of the burst ends once (completed or canceled, never run twice).
    with skyq.Client(cluster.url, api_key=burst_key) as burst:
        for run in flood:
            with contextlib.suppress(ConflictError):  # it ended meanwhile
                burst.cancel_run(run.run_id)
        ends = [burst.wait_for_run(run.run_id, timeout=120) for run in flood]
    assert {end.status for end in ends} <= {RunStatus.completed, RunStatus.canceled}
    assert any(end.status == RunStatus.canceled for end in ends)
    with psycopg.connect(cluster.env["SKYQ_DATABASE_URL"]) as connection:
        attempts = connection.execute(
            "SELECT max(attempt) FROM runs WHERE run_id = ANY(%s)",
            ([run.run_id for run in flood],),
        ).fetchone()[0]
    assert attempts == 1, "no run of the burst ran twice"
