"""PostgreSQL, the source of truth, stopped under a deployment: at submit the API says
503 and accepts nothing it could lose; mid-run the attempt is given up, not failed, and
the run ends once, completed, when the database is back."""

from __future__ import annotations

import httpx
import psycopg
import pytest

import skyq
from tests.cluster import Cluster, wait_until
from tests.integration.test_distributed import db_row, shop_model
from tests.postgres_server import PrivatePostgres


@pytest.fixture(scope="module")
def database():
    server = PrivatePostgres()
    yield server
    server.close()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, fake_llm_server, s3_server, database):
    fake_llm_server.reset(shop_model)
    cluster = Cluster(
        tmp_path_factory.mktemp("db-faults"),
        fake_llm_server.url,
        s3_server,
        pg_admin=database.url(),
        SKYQ_BROKER_URL="redis://127.0.0.1:6379/3",
        SKYQ_RESULT_BACKEND="redis://127.0.0.1:6379/4",
    )
    try:
        cluster.start_api()
        cluster.start_worker(concurrency=2)
        cluster.start_beat()
        cluster.key = cluster.create_key("org-a")
        yield cluster
    finally:
        if not database.accepts_connections():
            database.start()
        cluster.close()


def test_a_submit_while_the_database_is_down_is_a_503_and_nothing_is_lost(
    deployment, database, fake_llm_server, sites
):
    fake_llm_server.reset(shop_model)
    headers = {"x-api-key": deployment.key}
    body = {"prompt": "Price of Aurora Lamp", "url": sites.url("products.html")}
    with skyq.Client(deployment.url, api_key=deployment.key) as client:
        before = client.run_task(**body)
    database.stop()
    try:
        answer = httpx.post(f"{deployment.url}/v1/run/tasks", json=body, headers=headers)
        assert answer.status_code == 503
        assert answer.json() == {"detail": "the database is unavailable; try again shortly"}
        assert answer.headers["retry-after"] == "5"
        got = httpx.get(f"{deployment.url}/v1/runs/{before.run_id}", headers=headers)
        assert got.status_code == 503
    finally:
        database.start()
    with skyq.Client(deployment.url, api_key=deployment.key) as client:
        assert client.wait_for_run(before.run_id, timeout=90).status == "completed"
        after = client.run_task(wait_for_completion=True, timeout=90, **body)
        assert after.status == "completed" and after.output["price"] == 29.99
    api_log = (deployment.home / "api.log").read_text()
    assert "Traceback" not in api_log


def test_a_run_whose_database_goes_away_mid_run_ends_once(
    deployment, database, fake_llm_server, sites
):
    fake_llm_server.reset(shop_model)
    with skyq.Client(deployment.url, api_key=deployment.key) as client:
        run = client.run_task("Slow 4", url=sites.url("long.html"))
        wait_until(lambda: db_row(deployment, run.run_id)["step_count"] >= 1, 60, "a step")
        database.stop()
        # Down for longer than the lease (3 s): the attempt cannot renew it, and on the
        # database's return it must not go on beside the attempt that takes over.
        worker_log = deployment.home / "worker.log"
        wait_until(lambda: "attempt given up" in worker_log.read_text(), 60, "the give-up")
        database.start()
        final = client.wait_for_run(run.run_id, timeout=120)
    assert final.status == "completed", final.failure_reason
    assert final.output == {"steps": 4}
    row = db_row(deployment, run.run_id)
    assert row["attempt"] == 2, "the attempt that met the outage was given up, not failed"
    with skyq.Client(deployment.url, api_key=deployment.key) as client:
        steps = [entry.step for entry in client.get_run_timeline(run.run_id)]
    by_attempt = {n: [s.status for s in steps if s.attempt == n] for n in (1, 2)}
    assert by_attempt[1] and set(by_attempt[1]) <= {"completed", "canceled"}
    assert "canceled" in by_attempt[1], "the step the outage cut off is closed"
    assert by_attempt[2] == ["completed"] * row["step_count"]


def test_an_attempt_whose_lease_was_taken_stops_at_once(deployment, fake_llm_server, sites):
    """As when the database was away for longer than the lease and the run was handed
    to another worker: the old attempt must not go on beside the new one."""
    fake_llm_server.reset(shop_model)
    with skyq.Client(deployment.url, api_key=deployment.key) as client:
        run = client.run_task("Slow 4", url=sites.url("long.html"))
        wait_until(lambda: db_row(deployment, run.run_id)["step_count"] >= 1, 60, "a step")
        with psycopg.connect(deployment.env["SKYQ_DATABASE_URL"], autocommit=True) as db:
            db.execute(
                "UPDATE runs SET lease_owner = 'elsewhere:1:gone' WHERE run_id = %s",
                (run.run_id,),
            )
        worker_log = deployment.home / "worker.log"
        wait_until(lambda: "lease lost; attempt stopped" in worker_log.read_text(), 30, "stop")
        steps_then = db_row(deployment, run.run_id)["step_count"]
        # The taken lease runs out unrenewed; the reaper hands the run on.
        final = client.wait_for_run(run.run_id, timeout=120)
    assert final.status == "completed" and final.output == {"steps": 4}
    assert db_row(deployment, run.run_id)["attempt"] == 2
    assert steps_then <= 2, "the stopped attempt took no more steps"
