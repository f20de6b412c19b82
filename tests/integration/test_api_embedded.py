"""The API in process (FastAPI's TestClient) on the embedded stores: SQLite and the
local artifact store, whose files the API serves through signed links."""

from __future__ import annotations

import json

import pytest
import redis
from fastapi.testclient import TestClient

from skyq.api.app import create_app
from skyq.db.key_store import KeyStore
from skyq.queue import queue_depth
from tests.cluster import wait_until
from tests.fake_llm import Script
from tests.integration.test_agent_actions import complete

BROKER_DB = 13


@pytest.fixture
def broker():
    connection = redis.Redis(host="127.0.0.1", port=6379, db=BROKER_DB)
    connection.flushdb()
    yield connection
    connection.flushdb()


def api_for(embedded, **overrides) -> tuple[TestClient, str]:
    settings = embedded.settings.model_copy(
        update={"broker_url": f"redis://127.0.0.1:6379/{BROKER_DB}", **overrides}
    )
    key = KeyStore(embedded.store.engine).create(embedded.org)
    return TestClient(create_app(settings)), key


def test_post_writes_the_row_and_puts_one_message_on_the_queue(embedded, broker):
    api, key = api_for(embedded)
    answer = api.post(
        "/v1/run/tasks",
        json={"prompt": "Do it", "url": "https://example.com"},
        headers={"x-api-key": key, "x-user-agent": "agent/2", "x-max-steps-override": "7"},
    )
    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert run["status"] == "queued" and run["run_id"].startswith("tsk_")
    row = embedded.store.get_run(run["run_id"])
    assert row.max_steps == 7 and row.run_request["user_agent"] == "agent/2"
    # Priority 5 (the default) is kombu's Redis list for priority 3.
    messages = broker.lrange("skyq.runs\x06\x163", 0, -1)
    assert len(messages) == 1
    headers = json.loads(messages[0])["headers"]
    assert headers["task"] == "skyq.run_task" and headers["id"] == run["run_id"]


def test_a_run_accepted_while_the_broker_is_down_waits_in_the_outbox(embedded, broker):
    from skyq import reaper
    from skyq.dispatch import Dispatcher
    from skyq.queue import RunQueue, make_celery

    api, key = api_for(embedded, broker_url="redis://127.0.0.1:1/0")
    answer = api.post("/v1/run/tasks", json={"prompt": "Do it"}, headers={"x-api-key": key})
    assert answer.status_code == 200 and answer.json()["status"] == "queued"
    (row,) = embedded.store.list_runs(embedded.org)
    assert row.enqueued_at is None, "accepted, not yet published"
    # The broker is back: the reaper publishes the outbox, once.
    settings = embedded.settings.model_copy(
        update={"broker_url": f"redis://127.0.0.1:6379/{BROKER_DB}"}
    )
    dispatcher = Dispatcher(embedded.store, RunQueue(make_celery(settings)), window=16)
    wait_until(
        lambda: reaper.reap(dispatcher, lease_seconds=30).published == [row.run_id],
        10,
        "the outbox to be published",
    )
    assert queue_depth(broker, "skyq.runs") == 1
    assert embedded.store.get_run(row.run_id).enqueued_at is not None
    assert reaper.reap(dispatcher, lease_seconds=30).published == []


def test_local_artifacts_are_served_through_signed_links(embedded, fake_llm, sites):
    fake_llm.script = Script([complete({"ok": True})])
    done = embedded.run(prompt="Done", url=sites.url("products.html"))
    api, key = api_for(embedded, public_url="http://testserver")
    run = api.get(f"/v1/runs/{done.run_id}", headers={"x-api-key": key}).json()
    assert run["status"] == "completed"
    url = run["screenshot_urls"][0]
    assert url.startswith("http://testserver/v1/artifacts/")
    image = api.get(url)
    assert image.status_code == 200 and image.content[:3] == b"\xff\xd8\xff"
    assert image.headers["content-type"] == "image/jpeg"
    assert image.headers["x-content-type-options"] == "nosniff"
    assert api.get(url.replace("signature=", "signature=0")).status_code == 403
    assert api.get(url.replace("expires=", "expires=1")).status_code == 403
    listed = api.get(f"/v1/runs/{done.run_id}/artifacts", headers={"x-api-key": key}).json()
    assert all(a["signed_url"].startswith("http://testserver/v1/artifacts/") for a in listed)
    assert {a["artifact_type"] for a in listed} >= {"screenshot_llm", "llm_request"}


def test_long_poll_returns_at_once_for_a_finished_run(embedded, fake_llm, sites):
    fake_llm.script = Script([complete()])
    done = embedded.run(prompt="Done", url=sites.url("products.html"))
    api, key = api_for(embedded)
    answer = api.get(f"/v1/runs/{done.run_id}?wait_seconds=30", headers={"x-api-key": key})
    assert answer.status_code == 200 and answer.json()["status"] == "completed"
    too_long = api.get(f"/v1/runs/{done.run_id}?wait_seconds=600", headers={"x-api-key": key})
    assert too_long.status_code == 422


def test_an_unknown_proxy_location_is_a_422(embedded, broker):
    api, key = api_for(embedded)
    answer = api.post(
        "/v1/run/tasks",
        json={"prompt": "x", "url": "https://example.com", "proxy_location": "RESIDENTIAL_JP"},
        headers={"x-api-key": key},
    )
    assert answer.status_code == 422
    detail = answer.json()["detail"][0]
    assert detail["loc"] == ["body", "proxy_location"]
    assert "unknown proxy location 'RESIDENTIAL_JP'" in detail["msg"]
    assert queue_depth(broker, "skyq.runs") == 0 and embedded.store.list_runs(embedded.org) == []


def test_an_idempotency_key_makes_a_retried_post_return_the_same_run(embedded, broker):
    from concurrent.futures import ThreadPoolExecutor

    api, key = api_for(embedded)
    body = {"prompt": "Do it once", "url": "https://example.com"}
    headers = {"x-api-key": key, "Idempotency-Key": "order-42"}
    first = api.post("/v1/run/tasks", json=body, headers=headers).json()
    again = api.post("/v1/run/tasks", json=body, headers=headers).json()
    assert again["run_id"] == first["run_id"]
    with ThreadPoolExecutor(10) as pool:
        answers = list(
            pool.map(lambda _: api.post("/v1/run/tasks", json=body, headers=headers), range(10))
        )
    assert {a.json()["run_id"] for a in answers} == {first["run_id"]}
    assert len(embedded.store.list_runs(embedded.org)) == 1
    assert queue_depth(broker, "skyq.runs") == 1, "enqueued once"
    other = api.post("/v1/run/tasks", json={**body, "prompt": "Something else"}, headers=headers)
    assert other.status_code == 409
    assert "different request" in other.json()["detail"]
    fresh = api.post("/v1/run/tasks", json=body, headers={**headers, "Idempotency-Key": "order-43"})
    assert fresh.json()["run_id"] != first["run_id"]


def test_too_many_requests_a_second_get_429_with_retry_after(embedded, broker):
    import time

    api, key = api_for(embedded, api_rate_limit_per_second=3)
    started = time.monotonic()
    answers = [api.get("/v1/runs/tsk_none", headers={"x-api-key": key}) for _ in range(30)]
    windows = int(time.monotonic() - started) + 2  # the one-second windows the burst touched
    refused = [a for a in answers if a.status_code == 429]
    assert refused and all(a.headers["retry-after"] == "1" for a in refused)
    assert len(answers) - len(refused) <= 3 * windows
    assert all(a.status_code in (404, 429) for a in answers)


def test_an_organization_at_its_active_run_cap_gets_429_and_others_do_not(embedded, broker):
    api, key = api_for(embedded, max_active_runs_per_org=2)
    body = {"prompt": "x", "url": "https://example.com"}
    statuses = [
        api.post("/v1/run/tasks", json=body, headers={"x-api-key": key}).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    other_org = embedded.store.ensure_organization("another")
    other_key = KeyStore(embedded.store.engine).create(other_org)
    assert api.post("/v1/run/tasks", json=body, headers={"x-api-key": other_key}).status_code == 200
    assert len(embedded.store.list_runs(embedded.org)) == 2, "nothing half-created"


def test_an_oversized_body_is_a_413_and_control_characters_a_422(embedded, broker):
    api, key = api_for(embedded)
    huge = {"prompt": "x" * 2_000_000}
    assert api.post("/v1/run/tasks", json=huge, headers={"x-api-key": key}).status_code == 413
    nul = api.post("/v1/run/tasks", json={"prompt": "a\x00b"}, headers={"x-api-key": key})
    assert nul.status_code == 422 and nul.json()["detail"][0]["loc"] == ["body", "prompt"]
    newline_url = {"prompt": "x", "url": "https://exa\nmple.com"}
    bad_url = api.post("/v1/run/tasks", json=newline_url, headers={"x-api-key": key})
    assert bad_url.status_code == 422 and bad_url.json()["detail"][0]["loc"] == ["body", "url"]
    assert embedded.store.list_runs(embedded.org) == []


def test_a_database_that_goes_away_is_a_503_not_a_traceback(embedded, broker):
    from skyq.db import make_engine

    api, key = api_for(embedded)
    state = api.app.state.skyq
    healthy_engine = state.store.engine
    # The database disappears while the API runs (a closed port: nothing listens).
    state.store.engine = make_engine("postgresql://postgres@127.0.0.1:1/gone")
    state.keys.engine = healthy_engine  # the key check still passes; the run store fails
    answer = api.post(
        "/v1/run/tasks",
        json={"prompt": "x", "url": "https://example.com"},
        headers={"x-api-key": key},
    )
    assert answer.status_code == 503
    assert answer.json() == {"detail": "the database is unavailable; try again shortly"}
    assert answer.headers["retry-after"] == "5"
    state.store.engine = healthy_engine
    back = api.post(
        "/v1/run/tasks",
        json={"prompt": "x", "url": "https://example.com"},
        headers={"x-api-key": key},
    )
    assert back.status_code == 200


def test_a_revoked_key_gets_the_same_403(embedded, broker):
    api, key = api_for(embedded)
    assert api.get("/v1/runs/tsk_x", headers={"x-api-key": key}).status_code == 404
    assert KeyStore(embedded.store.engine).revoke(key.split("_")[1])
    answer = api.get("/v1/runs/tsk_x", headers={"x-api-key": key})
    assert (answer.status_code, answer.json()) == (403, {"detail": "Invalid credentials"})
    in_query = api.get(f"/v1/runs/tsk_x?x-api-key={key}&api_key={key}")
    assert (in_query.status_code, in_query.json()) == (403, {"detail": "Invalid credentials"})


def test_priority_puts_a_run_ahead_on_the_broker(embedded, broker):
    api, key = api_for(embedded)
    headers = {"x-api-key": key}
    for priority in (None, 9, 2):
        body = {"prompt": "Do it", **({"priority": priority} if priority is not None else {})}
        assert api.post("/v1/run/tasks", json=body, headers=headers).status_code == 200
    # kombu's Redis transport reads its lists in this order: 9 first, 2 last.
    assert broker.llen("skyq.runs") == 1  # priority 9
    assert broker.llen("skyq.runs\x06\x163") == 1  # the default, 5
    assert broker.llen("skyq.runs\x06\x166") == 1  # priority 2
    bad = api.post("/v1/run/tasks", json={"prompt": "x", "priority": 10}, headers=headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "priority"]


def test_a_batch_makes_a_run_per_row_or_nothing(embedded, broker):
    api, key = api_for(embedded)
    headers = {"x-api-key": key}
    body = {
        "prompt": "Price of {name}",
        "url": "https://shop.example/{sku}",
        "rows": [{"name": "Lamp", "sku": "l-1"}, {"name": "Kettle", "sku": "k-2"}],
        "max_steps": 4,
    }
    answer = api.post("/v1/batches", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    batch = answer.json()
    assert batch["total"] == 2 and batch["status"] == "running"
    assert batch["counts"] == {"queued": 2}
    runs = api.get(f"/v1/batches/{batch['batch_id']}/runs", headers=headers).json()
    assert [(r["row"], r["status"]) for r in runs] == [(0, "queued"), (1, "queued")]
    first = embedded.store.get_run(runs[0]["run_id"])
    assert first.prompt == "Price of Lamp" and first.url == "https://shop.example/l-1"
    assert first.max_steps == 4 and first.priority == 2, "a batch yields to interactive runs"
    assert broker.llen("skyq.runs\x06\x166") == 2, "on the broker's low-priority list"

    # A row the template cannot fill, or a field no run accepts: 422 naming the row,
    # and no run of the batch is made.
    bad_row = {**body, "rows": [{"name": "Lamp", "sku": "l-1"}, {"name": "no sku"}]}
    answer = api.post("/v1/batches", json=bad_row, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "rows", 1, "url"]
    bad_field = {**body, "max_steps": 0}
    answer = api.post("/v1/batches", json=bad_field, headers=headers)
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"][-1] == "max_steps"
    assert len(embedded.store.list_runs(embedded.org)) == 2

    other_key = KeyStore(embedded.store.engine).create(embedded.store.ensure_organization("b"))
    other = api.get(f"/v1/batches/{batch['batch_id']}", headers={"x-api-key": other_key})
    assert other.status_code == 404
