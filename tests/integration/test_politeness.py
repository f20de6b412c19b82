"""Per-site limits across workers: the gate on real Redis, and a deployment whose runs
on one site never overlap when the site allows one at a time."""

from __future__ import annotations

import itertools

import psycopg
import pytest
import redis

import skyq
from skyq.politeness import BUSY_RETRY_SECONDS, DomainGate
from tests.cluster import Cluster
from tests.integration.test_distributed import shop_model

REDIS_DB = 14


@pytest.fixture
def client():
    connection = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    connection.flushdb()
    yield connection
    connection.flushdb()


def test_one_place_per_site_and_a_start_rate(client):
    gate = DomainGate(client, max_running=1, max_starts_per_minute=2, hold_seconds=60)
    shop = "https://www.shop.example/item/1"
    assert gate.admit("run-a", shop) == 0
    assert gate.admit("run-b", "https://checkout.shop.example/") == BUSY_RETRY_SECONDS
    assert gate.admit("run-a", shop) == 0, "a run holding its place is admitted again"
    assert gate.admit("run-c", "https://other.example/") == 0, "another site has its own"
    gate.release("run-a", shop)
    assert gate.admit("run-b", shop) == 0
    gate.release("run-b", shop)
    # Two starts this minute on shop.example: the third waits for the oldest to age.
    wait = gate.admit("run-d", shop)
    assert 50 < wait <= 60


def test_a_dead_runs_place_expires(client):
    gate = DomainGate(client, max_running=1, max_starts_per_minute=0, hold_seconds=-1)
    assert gate.admit("run-a", "https://shop.example/") == 0
    assert gate.admit("run-b", "https://shop.example/") == 0, "run-a's place had expired"


def test_runs_on_one_site_take_turns_across_the_fleet(tmp_path, fake_llm_server, s3_server, sites):
    fake_llm_server.reset(shop_model)
    cluster = Cluster(
        tmp_path,
        fake_llm_server.url,
        s3_server,
        SKYQ_DOMAIN_MAX_CONCURRENCY="1",
        SKYQ_BROKER_URL=f"redis://127.0.0.1:6379/{REDIS_DB}",
        SKYQ_RESULT_BACKEND="redis://127.0.0.1:6379/15",
    )
    try:
        cluster.start_api()
        cluster.start_worker(concurrency=2)
        with skyq.Client(cluster.url, api_key=cluster.create_key("org")) as sdk:
            runs = [sdk.run_task("Slow 2", url=sites.url("long.html")) for _ in range(3)]
            ends = [sdk.wait_for_run(run.run_id, timeout=120) for run in runs]
        assert [end.status for end in ends] == ["completed"] * 3
        with psycopg.connect(cluster.env["SKYQ_DATABASE_URL"]) as connection:
            spans = connection.execute(
                "SELECT started_at, finished_at FROM runs ORDER BY started_at"
            ).fetchall()
        for (_, first_end), (second_start, _) in itertools.pairwise(spans):
            assert second_start >= first_end, "two runs on one site overlapped"
    finally:
        cluster.close()
