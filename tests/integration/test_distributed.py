"""The distributed path end to end: SDK -> REST API -> Redis -> Celery workers (real
processes, prefork: a Chromium per child) -> PostgreSQL and S3. The model is the only
stand-in."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest

import skyq
from skyq.queue import queue_depth
from tests.cluster import Cluster, wait_until
from tests.fake_llm import Call, Script, plan_as_is
from tests.integration.test_engines import (
    NAME,
    SAVE,
    STATUS_SCHEMA,
    computer_call,
    said,
    status_of,
    tars,
    tool_use,
)
from tests.receiver import Receiver
from tests.s3_server import free_port

PRODUCTS = {
    "Aurora Lamp": 29.99,
    "Borealis Kettle": 54.0,
    "Comet Headphones": 119.5,
    "Dusk Backpack": 75.25,
}
STEP_DELAY_SECONDS = 0.7


def shop_model(call: Call) -> dict:
    """A stateless model: what it answers depends only on the request, so any number
    of runs can share it. Tasks: 'Price of NAME', 'Slow N' (N steps, then done),
    'Forever' (never done)."""
    if call.kind == "plan":
        return plan_as_is(call)
    if call.kind == "verify":
        return {"user_goal_achieved": True, "reasoning": "done"}
    text = call.text
    task = text.split("TASK: ", 1)[1].splitlines()[0]
    if task.startswith("Price of "):
        name = task.removeprefix("Price of ")
        lines = text.splitlines()
        price = float(lines[lines.index(name) + 1].lstrip("$"))
        return {"actions": [{"action_type": "complete", "data": {"name": name, "price": price}}]}
    done_steps = sum(1 for line in text.splitlines() if line.startswith("step "))
    time.sleep(STEP_DELAY_SECONDS)
    if task.startswith("Slow ") and done_steps >= int(task.split()[1]):
        return {"actions": [{"action_type": "complete", "data": {"steps": done_steps}}]}
    return {"actions": [{"action_type": "scroll", "direction": "down"}]}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, fake_llm_server, s3_server):
    fake_llm_server.reset(shop_model)
    deployment = Cluster(
        tmp_path_factory.mktemp("cluster"),
        fake_llm_server.url,
        s3_server,
        SKYQ_WORKER_METRICS_PORT=str(free_port()),
        # These tests are about child processes (one killed, recycled, their browsers'
        # leftovers reaped): prefork. The threads pool has its own (test_threads_worker).
        SKYQ_WORKER_POOL="prefork",
    )
    try:
        deployment.start_api()
        deployment.worker = deployment.start_worker(concurrency=2)
        deployment.start_beat()
        deployment.key_a = deployment.create_key("org-a")
        deployment.key_b = deployment.create_key("org-b")
        yield deployment
    finally:
        deployment.close()


@pytest.fixture
def model(fake_llm_server):
    fake_llm_server.reset(shop_model)
    yield fake_llm_server
    assert not fake_llm_server.errors, fake_llm_server.errors


@pytest.fixture
def client(cluster):
    with skyq.Client(cluster.url, api_key=cluster.key_a) as sdk:
        yield sdk


def db_row(cluster: Cluster, run_id: str) -> dict:
    with psycopg.connect(cluster.env["SKYQ_DATABASE_URL"]) as connection:
        cursor = connection.execute(
            "SELECT status, attempt, lease_owner, step_count FROM runs WHERE run_id = %s", (run_id,)
        )
        status, attempt, owner, steps = cursor.fetchone()
    return {"status": status, "attempt": attempt, "lease_owner": owner, "step_count": steps}


def test_twenty_runs_at_once_through_the_async_sdk(cluster, model, sites):
    async def submit_all() -> list[skyq.TaskRunResponse]:
        async with skyq.AsyncClient(cluster.url, api_key=cluster.key_a) as sdk:
            names = [list(PRODUCTS)[i % 4] for i in range(20)]
            return await asyncio.gather(
                *(
                    sdk.run_task(
                        f"Price of {name}",
                        url=sites.url("products.html"),
                        data_extraction_schema={
                            "type": "object",
                            "properties": {"name": {"type": "string"}, "price": {"type": "number"}},
                        },
                        wait_for_completion=True,
                        timeout=180,
                    )
                    for name in names
                )
            )

    runs = asyncio.run(submit_all())
    assert len({r.run_id for r in runs}) == 20
    for run in runs:
        assert run.status == "completed", run.failure_reason
        assert run.output == {"name": run.output["name"], "price": PRODUCTS[run.output["name"]]}
        assert run.step_count == 1
        assert run.app_url and run.app_url.startswith(cluster.url)
        shot = httpx.get(run.screenshot_urls[0])
        assert shot.status_code == 200 and shot.content[:3] == b"\xff\xd8\xff"
        assert f"/{cluster.bucket}/artifacts/" in run.screenshot_urls[0]


def test_the_api_answers_queued_at_once_and_the_worker_runs_it(cluster, model, sites, client):
    started = time.monotonic()
    run = client.run_task("Price of Aurora Lamp", url=sites.url("products.html"))
    assert time.monotonic() - started < 2
    assert run.status == "queued" and run.queued_at is not None and run.started_at is None
    done = client.wait_for_run(run.run_id, timeout=60)
    assert done.status == "completed" and done.output == {"name": "Aurora Lamp", "price": 29.99}
    assert done.started_at >= done.queued_at and done.finished_at >= done.started_at
    kinds = {a.artifact_type for a in client.get_run_artifacts(run.run_id)}
    assert {"screenshot_llm", "llm_request", "llm_response", "screenshot_final"} <= kinds
    only = client.get_run_artifacts(run.run_id, artifact_type="screenshot_final")
    assert [a.artifact_type for a in only] == ["screenshot_final"]
    assert httpx.get(only[0].signed_url).status_code == 200
    timeline = client.get_run_timeline(run.run_id)
    assert [entry.actions[0].action_type for entry in timeline] == ["complete"]


SAVE_ADA = {  # click the Name field, type Ada, click Save, answer: in each protocol
    "openai-cua": [
        computer_call({"type": "click", "button": "left", "x": NAME[0], "y": NAME[1]}),
        computer_call({"type": "type", "text": "Ada"}),
        computer_call({"type": "click", "button": "left", "x": SAVE[0], "y": SAVE[1]}),
        said("Saved."),
    ],
    "anthropic-cua": [
        tool_use("left_click", coordinate=list(NAME)),
        tool_use("type", text="Ada"),
        tool_use("left_click", coordinate=list(SAVE)),
        [{"type": "text", "text": "Saved."}],
    ],
    "ui-tars": [  # UI-TARS-1.5's points: pixels of the 1288x728 picture it was shown
        tars("click(start_box='(252,116)')"),
        tars("type(content='Ada')"),
        tars("click(start_box='(161,182)')"),
        tars("finished(content='Saved.')"),
    ],
}


@pytest.mark.parametrize(
    ("engine", "run_type"),
    [("openai-cua", "openai_cua"), ("anthropic-cua", "anthropic_cua"), ("ui-tars", "ui_tars")],
)
def test_a_computer_use_run_goes_through_the_queue(
    cluster, fake_llm_server, sites, client, engine, run_type
):
    fake_llm_server.reset(Script(screen=SAVE_ADA[engine], extract=[status_of]))
    done = client.run_task(
        "Save the name Ada",
        url=sites.url("pointer.html"),
        engine=engine,
        data_extraction_schema=STATUS_SCHEMA,
        wait_for_completion=True,
        timeout=120,
    )
    assert not fake_llm_server.errors, fake_llm_server.errors  # each request on protocol
    assert done.status == "completed", done.failure_reason
    assert done.output == {"status": "Saved: Ada"}
    assert client.get_run(done.run_id).run_type == run_type
    timeline = client.get_run_timeline(done.run_id)
    actions = [a.action_type for entry in timeline for a in entry.actions]
    assert actions == ["mouse_click", "type_text", "mouse_click", "complete"]
    marked = client.get_run_artifacts(done.run_id, artifact_type="screenshot_action")
    assert len(marked) == 2  # one for each click, none for the typing
    assert httpx.get(marked[0].signed_url).content[:3] == b"\xff\xd8\xff"
    assert done.recording_url and httpx.get(done.recording_url).status_code == 200
    page = httpx.get(done.app_url).text  # the run page says where each click landed
    assert f"mouse_click at ({NAME[0]}, {NAME[1]})" in page
    assert "type_text &quot;Ada&quot;" in page


def test_cancel_a_queued_run(cluster, model, sites, client):
    # Two slow runs fill both worker children; the third waits in the queue.
    blockers = [client.run_task("Slow 3", url=sites.url("long.html")) for _ in range(2)]
    wait_until(
        lambda: all(db_row(cluster, b.run_id)["status"] == "running" for b in blockers),
        60,
        "both children to be busy",
    )
    queued = client.run_task("Price of Aurora Lamp", url=sites.url("products.html"))
    canceled = client.cancel_run(queued.run_id)
    assert canceled.status == "canceled"
    assert client.cancel_run(queued.run_id).status == "canceled"  # twice is fine
    for blocker in blockers:
        assert client.wait_for_run(blocker.run_id, timeout=120).status == "completed"
    wait_until(lambda: queue_depth(cluster.redis, "skyq.runs") == 0, 30, "the queue to drain")
    final = client.get_run(queued.run_id)
    assert final.status == "canceled" and final.started_at is None and final.step_count == 0
    with pytest.raises(skyq.ApiError) as finished:
        client.cancel_run(blockers[0].run_id)
    assert finished.value.status_code == 409


def test_cancel_a_running_run_stops_it_at_the_next_step(cluster, model, sites, client):
    run = client.run_task("Forever", url=sites.url("long.html"), max_steps=60)
    wait_until(lambda: db_row(cluster, run.run_id)["step_count"] >= 2, 60, "two steps")
    client.cancel_run(run.run_id)
    final = client.wait_for_run(run.run_id, timeout=60)
    assert final.status == "canceled"
    assert 2 <= final.step_count < 60
    assert final.screenshot_urls, "what the run made before the cancel is kept"


def test_a_worker_child_killed_mid_run_does_not_lose_the_run(cluster, model, sites, client):
    victim = client.run_task("Slow 3", url=sites.url("long.html"))
    bystanders = [
        client.run_task(f"Price of {name}", url=sites.url("products.html")) for name in PRODUCTS
    ]
    wait_until(lambda: db_row(cluster, victim.run_id)["step_count"] >= 1, 60, "the first step")
    worker = cluster.worker.pid
    adopted = [p for p in cluster.children(worker) if "crashpad" in cluster.state_and_name(p)[1]]
    assert adopted, "the worker adopts its browsers' crash handlers (a child subreaper)"
    owner = db_row(cluster, victim.run_id)["lease_owner"]
    pid = int(owner.split(":")[1])
    os.kill(pid, signal.SIGKILL)
    final = client.wait_for_run(victim.run_id, timeout=90)
    assert final.status == "completed", final.failure_reason
    assert final.output == {"steps": 3}
    row = db_row(cluster, victim.run_id)
    assert row["attempt"] == 2 and row["lease_owner"] != owner
    for run in bystanders:
        assert client.wait_for_run(run.run_id, timeout=90).status == "completed"

    def browser_zombies() -> list[int]:
        return [p for p in cluster.children(worker) if cluster.state_and_name(p)[0] == "Z"]

    # The killed child's browser and its crash handlers ended; none stays a zombie.
    wait_until(lambda: browser_zombies() == [], 30, "the worker to reap what its browser left")


def test_another_organization_sees_nothing(cluster, model, sites, client):
    run = client.run_task("Price of Dusk Backpack", url=sites.url("products.html"))
    with skyq.Client(cluster.url, api_key=cluster.key_b) as other:
        for call in (
            other.get_run,
            other.cancel_run,
            other.get_run_artifacts,
            other.get_run_timeline,
        ):
            with pytest.raises(skyq.NotFoundError):
                call(run.run_id)
    assert client.wait_for_run(run.run_id, timeout=60).status == "completed"


@pytest.mark.parametrize("key", [None, "", "skyq_00000000_wrong", "not-a-key"])
def test_bad_keys_get_skyverns_403(cluster, key):
    headers = {"x-api-key": key} if key is not None else {}
    answer = httpx.get(f"{cluster.url}/v1/runs/tsk_x", headers=headers)
    assert answer.status_code == 403
    assert answer.json() == {"detail": "Invalid credentials"}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"engine": "skyvern-9"}, "engine", "Input should be"),
        (
            {"engine": "ui-tars", "publish_workflow": True},
            "publish_workflow",
            "acts at screen coordinates",
        ),
        ({"max_steps": 0}, "max_steps", "greater than 0"),
        ({"data_extraction_schema": {"type": "objekt"}}, "data_extraction_schema", "JSON Schema"),
        ({"data_extraction_schema": "{oops"}, "data_extraction_schema", "not valid JSON"),
        ({"url": "example.com/page"}, "url", "has no scheme"),
        ({"prompt": ""}, "prompt", "at least 1 character"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(cluster, change, field, message):
    body = {"prompt": "Price of Aurora Lamp", "url": "https://example.com", **change}
    answer = httpx.post(
        f"{cluster.url}/v1/run/tasks", json=body, headers={"x-api-key": cluster.key_a}
    )
    assert answer.status_code == 422
    detail = answer.json()["detail"][0]
    assert detail["loc"] == ["body", field]
    assert message in detail["msg"]


def test_malformed_json_and_unknown_run(cluster):
    headers = {"x-api-key": cluster.key_a, "content-type": "application/json"}
    answer = httpx.post(f"{cluster.url}/v1/run/tasks", content=b"{not json", headers=headers)
    assert answer.status_code == 422
    missing = httpx.get(f"{cluster.url}/v1/runs/tsk_doesnotexist", headers=headers)
    assert missing.status_code == 404
    assert "tsk_doesnotexist" in missing.json()["detail"]


def test_run_page_and_signed_links(cluster, model, sites, client):
    run = client.run_task(
        "Price of Comet Headphones",
        url=sites.url("products.html"),
        wait_for_completion=True,
        timeout=60,
    )
    page = httpx.get(run.app_url)
    assert page.status_code == 200
    assert "completed" in page.text and "Comet Headphones" in page.text
    assert "<img src=" in page.text
    tampered = run.app_url[:-4] + "0000"
    assert httpx.get(tampered).status_code == 403


def test_openapi_lists_the_skyvern_routes(cluster):
    spec = httpx.get(f"{cluster.url}/openapi.json").json()
    assert {
        "/v1/run/tasks",
        "/v1/runs/{run_id}",
        "/v1/runs/{run_id}/cancel",
        "/v1/runs/{run_id}/artifacts",
        "/v1/runs/{run_id}/timeline",
    } <= set(spec["paths"])


def test_webhook_reaches_a_receiver_that_was_down_twice(cluster, model, sites, client):
    receiver = Receiver(fail_first=2)
    try:
        run = client.run_task(
            "Price of Aurora Lamp",
            url=sites.url("products.html"),
            webhook_url=receiver.url,
            wait_for_completion=True,
            timeout=60,
        )
        wait_until(lambda: receiver.delivered(), 60, "the webhook")
        assert [d.answered for d in receiver.deliveries] == [500, 500, 200]
        delivery = receiver.delivered()[0]
        # Verified the way a receiver written for Skyvern does it, with the API key.
        expected = hmac.new(cluster.key_a.encode(), delivery.body, hashlib.sha256).hexdigest()
        assert delivery.headers["x-skyvern-signature"] == expected
        assert abs(int(delivery.headers["x-skyvern-timestamp"]) - time.time()) < 120
        assert delivery.body == json.dumps(delivery.json, separators=(",", ":")).encode()
        assert delivery.json["run_id"] == run.run_id
        assert delivery.json["status"] == "completed"
        assert delivery.json["output"] == {"name": "Aurora Lamp", "price": 29.99}
        # Standard Webhooks too: v1 = base64 HMAC of "id.timestamp.body", same id each try.
        signed = f"{delivery.headers['webhook-id']}.{delivery.headers['webhook-timestamp']}."
        mac = hmac.new(cluster.key_a.encode(), signed.encode() + delivery.body, hashlib.sha256)
        assert (
            delivery.headers["webhook-signature"] == "v1," + base64.b64encode(mac.digest()).decode()
        )
        assert {d.headers["webhook-id"] for d in receiver.deliveries} == {f"msg_{run.run_id}"}

        def attempts() -> list[tuple[int, int]]:
            with psycopg.connect(cluster.env["SKYQ_DATABASE_URL"]) as connection:
                return connection.execute(
                    "SELECT attempt, status_code FROM webhook_deliveries WHERE run_id = %s"
                    " ORDER BY attempt",
                    (run.run_id,),
                ).fetchall()

        # The sender records an attempt once the receiver has answered it.
        wait_until(lambda: len(attempts()) == 3, 30, "the third attempt's record")
        assert attempts() == [(1, 500), (2, 500), (3, 200)]

        answer = httpx.post(
            f"{cluster.url}/v1/runs/{run.run_id}/retry_webhook",
            headers={"x-api-key": cluster.key_a},
        )
        assert answer.status_code == 200
        wait_until(lambda: len(receiver.delivered()) == 2, 30, "the retried webhook")
        assert receiver.delivered()[1].json["run_id"] == run.run_id
    finally:
        receiver.close()


def test_a_canceled_queued_run_sends_its_webhook(cluster, model, sites, client):
    receiver = Receiver()
    try:
        blockers = [client.run_task("Slow 2", url=sites.url("long.html")) for _ in range(2)]
        wait_until(
            lambda: all(db_row(cluster, b.run_id)["status"] == "running" for b in blockers),
            60,
            "both children to be busy",
        )
        queued = client.run_task(
            "Price of Aurora Lamp", url=sites.url("products.html"), webhook_url=receiver.url
        )
        client.cancel_run(queued.run_id)
        wait_until(lambda: receiver.delivered(), 60, "the webhook of the canceled run")
        assert receiver.delivered()[0].json["status"] == "canceled"
        for blocker in blockers:
            client.wait_for_run(blocker.run_id, timeout=60)
        assert len(receiver.deliveries) == 1, "one webhook per run"
    finally:
        receiver.close()


def test_a_whole_worker_killed_mid_run_is_recovered_by_the_reaper(cluster, model, sites, client):
    victim = client.run_task("Slow 3", url=sites.url("long.html"))
    wait_until(lambda: db_row(cluster, victim.run_id)["step_count"] >= 1, 60, "the first step")
    old = cluster.worker
    tree = cluster.descendants(old.pid)
    os.killpg(old.pid, signal.SIGKILL)  # main process, children and their drivers
    old.wait(timeout=30)
    assert db_row(cluster, victim.run_id)["status"] == "running"  # nobody will hand it back
    cluster.worker = cluster.start_worker(concurrency=2)
    final = client.wait_for_run(victim.run_id, timeout=120)
    assert final.status == "completed", final.failure_reason
    assert db_row(cluster, victim.run_id)["attempt"] == 2
    # Chromium sees its driver's pipe close and exits: nothing of the old worker is left.
    wait_until(lambda: cluster.alive(tree) == [], 30, "the killed worker's browsers to end")


def _other_service(cluster: Cluster):
    """A Celery app of some other service on the same broker: it knows skyq's task only
    by name."""
    from celery import Celery

    return Celery(
        "other-service",
        broker=cluster.env["SKYQ_BROKER_URL"],
        backend=cluster.env["SKYQ_RESULT_BACKEND"],
    )


def test_duplicate_deliveries_never_run_a_run_twice(cluster, model, sites, client):
    other = _other_service(cluster)
    run = client.run_task("Slow 2", url=sites.url("long.html"))
    wait_until(lambda: db_row(cluster, run.run_id)["status"] == "running", 60, "the start")
    # The same message again while the run is live, and once more after it has ended.
    during = other.send_task(
        "skyq.run_task", kwargs={"run_id": run.run_id}, queue="skyq.runs", task_id=run.run_id
    )
    final = client.wait_for_run(run.run_id, timeout=90)
    assert final.status == "completed"
    after = other.send_task(
        "skyq.run_task", kwargs={"run_id": run.run_id}, queue="skyq.runs", task_id=run.run_id
    )
    assert after.get(timeout=60)["status"] == "completed"
    assert during.get(timeout=60)["status"] == "completed"
    row = db_row(cluster, run.run_id)
    assert row["attempt"] == 1, "one attempt, however many deliveries"
    assert len(client.get_run_timeline(run.run_id)) == final.step_count == 3


def test_sigterm_lets_the_running_run_finish_and_leaves_no_browser(cluster, model, sites, client):
    run = client.run_task("Slow 2", url=sites.url("long.html"))
    wait_until(lambda: db_row(cluster, run.run_id)["step_count"] >= 1, 60, "the first step")
    old = cluster.worker
    tree = cluster.descendants(old.pid)  # the children, their drivers and browsers
    assert any(b"chromium" in Path(f"/proc/{p}/cmdline").read_bytes() for p in tree)
    old.send_signal(signal.SIGTERM)  # warm shutdown: take no new runs, finish this one
    old.wait(timeout=120)
    assert client.get_run(run.run_id).status == "completed"
    wait_until(lambda: cluster.alive(tree) == [], 30, "the worker's processes to end")
    cluster.worker = cluster.start_worker(concurrency=2)


def test_a_run_that_kills_its_worker_every_time_is_failed_not_looped(cluster, model, sites, client):
    run = client.run_task("Forever", url=sites.url("long.html"), max_steps=60)
    killed: set[str] = set()

    def kill_each_new_attempt() -> bool:
        row = db_row(cluster, run.run_id)
        owner = row["lease_owner"]
        if row["status"] == "running" and owner and owner not in killed and row["step_count"]:
            os.kill(int(owner.split(":")[1]), signal.SIGKILL)
            killed.add(owner)
        return row["status"] != "running" and row["status"] != "queued"

    wait_until(kill_each_new_attempt, 120, "the run to be given up")
    final = client.get_run(run.run_id)
    assert final.status == "failed"
    assert final.failure_reason == "the run's worker was lost 3 times; giving up"
    assert len(killed) == 3
    # The worker is healthy for the next run.
    after = client.run_task(
        "Price of Aurora Lamp", url=sites.url("products.html"), wait_for_completion=True, timeout=60
    )
    assert after.status == "completed"


def test_a_cold_shutdown_mid_run_hands_the_run_to_the_next_worker(cluster, model, sites, client):
    run = client.run_task("Slow 3", url=sites.url("long.html"))
    wait_until(lambda: db_row(cluster, run.run_id)["step_count"] >= 1, 60, "the first step")
    old = cluster.worker
    tree = cluster.descendants(old.pid)
    old.send_signal(signal.SIGQUIT)  # cold shutdown: no waiting for the run
    old.wait(timeout=60)
    wait_until(lambda: cluster.alive(tree) == [], 30, "the worker's processes to end")
    cluster.worker = cluster.start_worker(concurrency=2)
    final = client.wait_for_run(run.run_id, timeout=120)
    assert final.status == "completed", final.failure_reason
    assert db_row(cluster, run.run_id)["attempt"] == 2


OTHER_ARGS = ["-Q", "other", "-P", "solo", "-n", "other@%h", "--loglevel", "INFO"]


@pytest.fixture
def other_service(cluster):
    """The other team's worker (its own queue) and its app, on skyq's broker."""
    from tests.other_service import app

    env = {
        **cluster.env,
        "OTHER_BROKER_URL": cluster.env["SKYQ_BROKER_URL"],
        "OTHER_RESULT_BACKEND": cluster.env["SKYQ_RESULT_BACKEND"],
    }
    log = cluster.home / "other-service.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.other_service", "worker", *OTHER_ARGS],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    app.conf.update(broker_url=env["OTHER_BROKER_URL"], result_backend=env["OTHER_RESULT_BACKEND"])
    try:
        wait_until(lambda: "ready." in log.read_text(), 60, "the other service's worker")
        yield app
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)


def test_another_service_chains_a_run_into_its_own_task(cluster, model, sites, other_service):
    from celery import chain

    from skyq.celery import run_task_signature
    from tests.other_service import summarize

    flow = chain(
        run_task_signature("Price of Dusk Backpack", url=sites.url("products.html")),
        summarize.s().set(queue="other"),
    )
    summary = flow.apply_async().get(timeout=90)
    assert summary["status"] == "completed"
    assert summary["name"] == "Dusk Backpack" and summary["price"] == 75.25
    # The worker wrote the run row itself, in its default organization.
    assert db_row(cluster, summary["run_id"])["status"] == "completed"


def test_a_chord_of_ten_runs_into_an_aggregator(cluster, model, sites, other_service):
    from celery import chord

    from skyq.celery import run_task_signature
    from tests.other_service import aggregate

    names = [list(PRODUCTS)[i % 4] for i in range(10)]
    with psycopg.connect(cluster.env["SKYQ_DATABASE_URL"]) as connection:
        (org_a,) = connection.execute(
            "SELECT organization_id FROM organizations WHERE name = 'org-a'"
        ).fetchone()
    header = [
        run_task_signature(
            f"Price of {name}", url=sites.url("products.html"), organization_id=org_a
        )
        for name in names
    ]
    result = chord(header, aggregate.s().set(queue="other")).apply_async().get(timeout=180)
    assert result["runs"] == result["completed"] == 10
    assert result["total"] == round(sum(PRODUCTS[name] for name in names), 2)
    assert len(set(result["run_ids"])) == 10
    rows = [db_row(cluster, run_id) for run_id in result["run_ids"]]
    assert all(row["status"] == "completed" and row["attempt"] == 1 for row in rows)
    # They are org-a's runs: its API key sees them.
    with skyq.Client(cluster.url, api_key=cluster.key_a) as client:
        assert client.get_run(result["run_ids"][0]).status == "completed"


def test_a_signature_by_name_alone_and_a_bad_request(cluster, model, sites):
    """A service that does not import skyq sends the task by name; a request skyq
    cannot run fails the task with the field named, and makes no run."""
    other = _other_service(cluster)
    body = {"prompt": "Price of Aurora Lamp", "url": sites.url("products.html")}
    done = other.send_task("skyq.run_task", kwargs={"request": body}, queue="skyq.runs")
    assert done.get(timeout=90)["output"]["price"] == 29.99
    bad = other.send_task(
        "skyq.run_task",
        kwargs={"request": {"prompt": "x", "url": "file:///etc/passwd"}},
        queue="skyq.runs",
    )
    with pytest.raises(Exception, match="url"):
        bad.get(timeout=60)


def test_flower_shows_a_running_runs_progress(cluster, model, sites, client):
    flower = cluster.start_flower()
    # Flower answers HTTP before its event consumer is connected: a first run tells
    # when it has started to hear events.
    first = client.run_task(
        "Price of Aurora Lamp", url=sites.url("products.html"), wait_for_completion=True
    )

    def hears_events() -> bool:
        answer = httpx.get(f"{flower}/api/task/info/{first.run_id}", timeout=10)
        return answer.status_code == 200

    if not hears_events():
        client.run_task("Price of Aurora Lamp", url=sites.url("products.html"))
        wait_until(
            lambda: len(httpx.get(f"{flower}/api/tasks", timeout=10).json()) > 0,
            30,
            "flower to hear task events",
        )
    run = client.run_task("Slow 5", url=sites.url("long.html"), max_steps=10)
    seen: dict = {}

    def progress_in_flower() -> bool:
        answer = httpx.get(f"{flower}/api/task/info/{run.run_id}", timeout=10)
        if answer.status_code != 200:
            return False  # flower has not had the task's events yet
        seen.update(answer.json())
        return seen.get("state") == "RUNNING" and (seen.get("result") or {}).get("step", 0) >= 2

    wait_until(progress_in_flower, 60, "flower to show step 2 of the run")
    assert seen["name"] == "skyq.run_task" and seen["worker"].startswith("worker@")
    meta = seen["result"]
    assert meta["max_steps"] == 10 and meta["url"] == sites.url("long.html")
    assert meta["last_action"] == "scroll"
    # The same progress is the task's state in the result backend.
    backend = httpx.get(f"{flower}/api/task/result/{run.run_id}", timeout=10).json()
    assert backend["state"] == "RUNNING"
    assert client.wait_for_run(run.run_id, timeout=90).status == "completed"
    # The run row turns terminal before the task returns, so the backend's SUCCESS
    # follows the API's "completed" by a moment.
    done: dict = {}

    def backend_says_success() -> bool:
        done.update(httpx.get(f"{flower}/api/task/result/{run.run_id}", timeout=10).json())
        return done["state"] == "SUCCESS"

    wait_until(backend_says_success, 30, "the result backend to hold the task's result")
    assert done["result"]["status"] == "completed" and done["result"]["run_id"] == run.run_id


ROWS = 30


def test_a_batch_interrupted_and_resumed_runs_each_row_once(cluster, model, sites, tmp_path):
    """30 rows, to keep the suite short; 200 rows behave the same (measured by hand)."""
    names = list(PRODUCTS)
    rows = tmp_path / "products.csv"
    rows.write_text("name,page\n" + "".join(f"{names[i % 4]},products.html\n" for i in range(ROWS)))
    out = tmp_path / "prices.jsonl"
    env = {**cluster.env, "SKYQ_API_KEY": cluster.key_b}
    argv = [sys.executable, "-m", "skyq", "batch", str(rows), "--prompt", "Price of {name}"]
    argv += ["--url", sites.url("{page}"), "--out", str(out), "--concurrency", "6"]
    first = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: out.exists() and len(out.read_text().splitlines()) >= 8, 120, "8 rows")
    first.send_signal(signal.SIGINT)  # Ctrl-C
    _, interrupted = first.communicate(timeout=60)
    assert first.returncode == 130, interrupted
    assert "the same command resumes" in interrupted
    before = len(out.read_text().splitlines())
    assert before < ROWS

    resumed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{ROWS} of {ROWS} rows completed" in resumed.stderr
    assert " ok, 0 failed" in resumed.stderr  # the progress line
    entries = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(e["row"] for e in entries) == list(range(ROWS)), "each row once"
    for entry in entries:
        assert entry["status"] == "completed"
        assert entry["output"]["price"] == PRODUCTS[entry["input"]["name"]]
    with psycopg.connect(cluster.env["SKYQ_DATABASE_URL"]) as connection:
        runs, attempts = connection.execute(
            "SELECT count(*), max(attempt) FROM runs WHERE idempotency_key LIKE 'skyq-batch-%'"
        ).fetchone()
    assert runs == ROWS and attempts == 1, "no row was run twice, before or after the stop"


def test_a_batch_with_a_row_the_template_cannot_fill_starts_nothing(cluster, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"name": "Aurora Lamp"}\n{"title": "no name"}\n')
    env = {**cluster.env, "SKYQ_API_KEY": cluster.key_b}
    done = subprocess.run(
        [sys.executable, "-m", "skyq", "batch", str(rows), "--prompt", "Price of {name}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "skyq: error: prompt: row 1: the row has no value for {name}"
    assert not (tmp_path / "rows.jsonl.results.jsonl").exists()


def _samples(text: str) -> dict[str, float]:
    """Prometheus text format: every sample line, name{labels} -> value."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


def test_metrics_of_the_api_and_the_workers(cluster, model, sites, client):
    done = client.run_task(
        "Price of Aurora Lamp", url=sites.url("products.html"), wait_for_completion=True
    )
    assert done.status == "completed"
    api = _samples(httpx.get(f"{cluster.url}/metrics", timeout=10).text)
    assert api['skyq_up{of="database"}'] == 1 and api['skyq_up{of="broker"}'] == 1
    assert api['skyq_runs{status="completed"}'] >= 1
    assert api['skyq_queue_depth{queue="skyq.runs"}'] >= 0
    assert "skyq_runs_waiting_dispatch" in api and api["skyq_run_backlog"] >= 0
    port = cluster.env["SKYQ_WORKER_METRICS_PORT"]
    worker = _samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
    assert worker['skyq_runs_finished_total{status="completed"}'] >= 1
    assert worker['skyq_run_duration_seconds_count{status="completed"}'] >= 1
    assert worker["skyq_step_duration_seconds_count"] >= 1
    assert worker['skyq_llm_tokens_total{kind="input"}'] >= 100  # the fake model's usage
    assert worker["skyq_browser_launches_total"] >= 2, "a browser per child"
    assert worker["skyq_browsers_open"] == 2


def test_a_batch_over_the_api_runs_every_row(cluster, model, sites):
    headers = {"x-api-key": cluster.key_b}
    names = list(PRODUCTS)
    body = {
        "prompt": "Price of {name}",
        "url": sites.url("products.html"),
        "rows": [{"name": name} for name in names],
    }
    batch = httpx.post(f"{cluster.url}/v1/batches", json=body, headers=headers).json()
    url = f"{cluster.url}/v1/batches/{batch['batch_id']}"

    def finished() -> bool:
        return httpx.get(url, headers=headers).json()["status"] == "completed"

    wait_until(finished, 90, "the batch to finish")
    assert httpx.get(url, headers=headers).json()["counts"] == {"completed": 4}
    runs = httpx.get(f"{url}/runs", headers=headers).json()
    assert [(r["row"], r["output"]["price"]) for r in runs] == [
        (i, PRODUCTS[name]) for i, name in enumerate(names)
    ]
