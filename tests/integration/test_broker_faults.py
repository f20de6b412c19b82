"""Redis, the broker, killed and restarted under a deployment: with AOF persistence no
queued run is lost, a run in flight ends once, and workers reconnect by themselves.
And the broker's own redelivery of a long run (its visibility timeout) runs nothing
twice."""

from __future__ import annotations

import pytest

import skyq
from skyq.queue import queue_depth
from tests.cluster import Cluster, wait_until
from tests.integration.test_distributed import db_row, shop_model
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
        assert queue_depth(deployment.redis, "skyq.runs") == 5
        broker.kill()  # kill -9: no shutdown, no final save
        broker.start()
        assert queue_depth(deployment.redis, "skyq.runs") == 5, "AOF kept every queued message"
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
    wait_until(lambda: queue_depth(deployment.redis, "skyq.runs") == 0, 30, "an empty queue")


def test_a_run_in_flight_when_redis_dies_ends_once(deployment, broker, fake_llm_server, sites):
    fake_llm_server.reset(shop_model)
    with skyq.Client(deployment.url, api_key=deployment.key_a) as client:
        run = client.run_task("Slow 4", url=sites.url("long.html"))
        wait_until(lambda: db_row(deployment, run.run_id)["step_count"] >= 1, 60, "a step")
        broker.kill()
        broker.start()
        final = client.wait_for_run(run.run_id, timeout=120)
        assert final.status == "completed", final.failure_reason
        assert final.output == {"steps": 4}
        # The worker gives up a run whose message it can no longer ack; the run's next
        # attempt (redelivered, or handed back by the lease) starts it over, once.
        assert db_row(deployment, run.run_id)["attempt"] <= 2
        steps = client.get_run_timeline(run.run_id)
        assert len(steps) == final.step_count, "the timeline is of the attempt that ended"
        after = client.run_task(
            "Price of Aurora Lamp",
            url=sites.url("products.html"),
            wait_for_completion=True,
            timeout=60,
        )
        assert after.status == "completed"


@pytest.fixture
def short_visibility(tmp_path, fake_llm_server, s3_server):
    cluster = Cluster(
        tmp_path,
        fake_llm_server.url,
        s3_server,
        SKYQ_BROKER_VISIBILITY_TIMEOUT_SECONDS="2",
    )
    try:
        cluster.start_api()
        cluster.start_worker(concurrency=2)
        yield cluster
    finally:
        cluster.close()


def test_the_brokers_redelivery_of_a_long_run_runs_nothing_twice(
    short_visibility, fake_llm_server, sites
):
    fake_llm_server.reset(shop_model)
    cluster = short_visibility
    with skyq.Client(cluster.url, api_key=cluster.create_key("org-a")) as client:
        run = client.run_task("Slow 8", url=sites.url("long.html"))
        final = client.wait_for_run(run.run_id, timeout=120)
        assert final.status == "completed" and final.output == {"steps": 8}
        assert db_row(cluster, run.run_id)["attempt"] == 1
        assert len(client.get_run_timeline(run.run_id)) == final.step_count
    # The run row turns terminal (and the long poll answers) a moment before the task
    # returns and logs its success.
    succeeded = f"skyq.run_task[{run.run_id}] succeeded"
    wait_until(
        lambda: succeeded in (cluster.home / "worker.log").read_text(),
        30,
        "the worker to log the task's success",
    )
    log = (cluster.home / "worker.log").read_text()
    # The message came back while the run went on; those deliveries found it held.
    assert log.count(f"skyq.run_task[{run.run_id}] received") >= 2
    assert f"run {run.run_id} is held by another live attempt" in log
    assert "'output'" not in log, "a run's output is the caller's, not the log's"
