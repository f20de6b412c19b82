"""Redis, the broker, killed and restarted under a deployment: with AOF persistence no
queued run is lost, and workers reconnect by themselves."""

from __future__ import annotations

import pytest

import skyq
from tests.cluster import Cluster, wait_until
from tests.integration.test_distributed import shop_model
from tests.redis_server import PrivateRedis


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, fake_llm_server, s3_server, broker):
    fake_llm_server.reset(shop_model)
    cluster = Cluster(
        tmp_path_factory.mktemp("broker-cluster"),
        fake_llm_server.url,
        s3_server,
        SKYQ_BROKER_URL=f"{broker.url}/0",
        SKYQ_RESULT_BACKEND=f"{broker.url}/1",
    )
    try:
        cluster.start_api()
        cluster.key_a = cluster.create_key("org-a")
        yield cluster
    finally:
        cluster.close()


def test_queued_runs_survive_a_redis_crash_and_workers_reconnect(
    deployment, broker, fake_llm_server, sites
):
    fake_llm_server.reset(shop_model)
    with skyq.Client(deployment.url, api_key=deployment.key_a) as client:
        runs = [
            client.run_task("Price of Aurora Lamp", url=sites.url("products.html"))
            for _ in range(5)
        ]
        assert deployment.redis.llen("skyq.runs") == 5
        broker.kill()  # kill -9: no shutdown, no final save
        broker.start()
        assert deployment.redis.llen("skyq.runs") == 5, "AOF kept every queued message"
        deployment.start_worker(concurrency=2)
        for run in runs:
            assert client.wait_for_run(run.run_id, timeout=120).status == "completed"

        # The broker goes away again under an idle worker; new runs are still consumed.
        broker.kill()
        broker.start()
        later = [
            client.run_task("Price of Dusk Backpack", url=sites.url("products.html"))
            for _ in range(2)
        ]
        for run in later:
            done = client.wait_for_run(run.run_id, timeout=120)
            assert done.status == "completed" and done.output["price"] == 75.25
    wait_until(lambda: deployment.redis.llen("skyq.runs") == 0, 30, "an empty queue")
