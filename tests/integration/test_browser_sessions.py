"""Browser sessions end to end: SDK -> API -> Redis -> the threads-pool worker holding
the session -> PostgreSQL and S3, with beat ending sessions (real processes)."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import httpx
import psycopg
import pytest

import skyq
from skyq.client.errors import ConflictError
from tests.cluster import Cluster, wait_until
from tests.fake_llm import Call, plan_as_is
from tests.sites.server import ACCOUNT_PASSWORD


def account_model(call: Call) -> dict:
    """Signs in on the sign-in form; reports what the account page says."""
    if call.kind == "plan":
        return plan_as_is(call)
    if call.kind == "verify":
        return {"user_goal_achieved": True, "reasoning": "done"}
    text = call.text
    if "Signed in as alice" in text:
        return {"actions": [{"action_type": "complete", "data": {"signed_in": True}}]}
    if "Please sign in" in text:
        return {"actions": [{"action_type": "complete", "data": {"signed_in": False}}]}
    return {
        "actions": [
            {"action_type": "input_text", "id": call.id_of("label=Username"), "text": "alice"},
            {
                "action_type": "input_text",
                "id": call.id_of("label=Password"),
                "text": ACCOUNT_PASSWORD,
            },
            {"action_type": "click", "id": call.id_of(">Sign in<")},
        ]
    }


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, fake_llm_server, s3_server):
    fake_llm_server.reset(account_model)
    deployment = Cluster(
        tmp_path_factory.mktemp("sessions"),
        fake_llm_server.url,
        s3_server,
        SKYQ_WORKER_POOL="threads",
    )
    try:
        deployment.start_api()
        deployment.worker = deployment.start_worker(concurrency=2, name="holder")
        deployment.start_beat()
        deployment.key = deployment.create_key("org-sessions")
        yield deployment
    finally:
        deployment.close()


@pytest.fixture
def client(cluster):
    with skyq.Client(cluster.url, api_key=cluster.key) as sdk:
        yield sdk


def running(client: skyq.Client, session_id: str) -> skyq.BrowserSessionResponse:
    wait_until(
        lambda: client.get_browser_session(session_id).status != "created", 60, "session opened"
    )
    session = client.get_browser_session(session_id)
    assert session.status == "running", session
    return session


def test_two_runs_share_a_login_and_the_open_page(cluster, client, sites):
    session = client.create_browser_session(timeout=30)
    assert session.browser_session_id.startswith("pbs_")
    assert session.status == "created" and session.timeout == 30
    # Sent before any worker holds the session: it waits for it, then runs there.
    first = client.run_task(
        "Sign in as alice",
        url=sites.url("signin.html"),
        browser_session_id=session.browser_session_id,
        wait_for_completion=True,
        timeout=120,
    )
    assert first.status == "completed", first.failure_reason
    assert first.output == {"signed_in": True}
    assert first.browser_session_id == session.browser_session_id
    assert running(client, session.browser_session_id).runnable_id is None

    # No url: the second run starts on the page the first left open, signed in.
    second = client.run_task(
        "Is alice signed in?",
        browser_session_id=session.browser_session_id,
        wait_for_completion=True,
        timeout=120,
    )
    assert second.status == "completed", second.failure_reason
    assert second.output == {"signed_in": True}
    first_step = client.get_run_timeline(second.run_id)[0]
    assert first_step.step is not None and first_step.step.url == sites.url("account")

    # The same page in a fresh context (no session) has no cookie.
    alone = client.run_task(
        "Is alice signed in?", url=sites.url("account"), wait_for_completion=True, timeout=120
    )
    assert alone.output == {"signed_in": False}

    listed = [s.browser_session_id for s in client.get_browser_sessions()]
    assert session.browser_session_id in listed

    closed = client.close_browser_session(session.browser_session_id)
    assert closed.status == "completed" and closed.completed_at is not None
    assert session.browser_session_id not in [
        s.browser_session_id for s in client.get_browser_sessions()
    ]
    with pytest.raises(ConflictError) as refused:
        client.run_task("Again", browser_session_id=session.browser_session_id)
    assert refused.value.status_code == 409
    assert "was closed" in str(refused.value)
    # The worker gave the session's context back.
    log = cluster.home / "holder.log"
    wait_until(lambda: session.browser_session_id in _closed_lines(log), 30, "context closed")


def _closed_lines(log) -> str:
    return "\n".join(line for line in log.read_text().splitlines() if "session closed" in line)


def test_unknown_session_and_bad_timeout_name_the_field(cluster):
    headers = {"x-api-key": cluster.key}
    answer = httpx.post(
        f"{cluster.url}/v1/run/tasks",
        json={"prompt": "x", "browser_session_id": "pbs_nope"},
        headers=headers,
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == "browser_session_id"
    bad = httpx.post(f"{cluster.url}/v1/browser_sessions", json={"timeout": 0}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"][-1] == "timeout"
    missing = httpx.get(f"{cluster.url}/v1/browser_sessions/pbs_nope", headers=headers)
    assert missing.status_code == 404


def test_the_scheduler_closes_a_session_whose_timeout_ran_out(cluster, client):
    session = client.create_browser_session(timeout=5)
    running(client, session.browser_session_id)
    # Time passes: the session started six minutes ago.
    with psycopg.connect(cluster.env["SKYQ_DATABASE_URL"].replace("+psycopg", "")) as db:
        db.execute(
            "UPDATE browser_sessions SET started_at = started_at - %s"
            " WHERE browser_session_id = %s",
            (timedelta(minutes=6), session.browser_session_id),
        )
    wait_until(
        lambda: client.get_browser_session(session.browser_session_id).status == "timeout",
        30,
        "the scheduler's timeout",
    )
    ended = client.get_browser_session(session.browser_session_id)
    assert "5 min" in (ended.failure_reason or "")
    with pytest.raises(ConflictError) as refused:
        client.run_task("Again", browser_session_id=session.browser_session_id)
    assert refused.value.status_code == 409 and "timed out" in str(refused.value)
    log = cluster.home / "holder.log"
    wait_until(lambda: session.browser_session_id in _closed_lines(log), 30, "context closed")


def test_a_run_for_a_session_whose_worker_died_fails_with_that_reason(cluster, client, sites):
    session = client.create_browser_session(timeout=30)
    running(client, session.browser_session_id)
    # The scheduler's passes run on whichever worker is up: another one is.
    bystander = cluster.start_worker(concurrency=1, name="bystander")
    os.killpg(cluster.worker.pid, signal.SIGKILL)
    cluster.worker.wait(timeout=30)
    # Accepted (the session still looks open), sent to the dead worker's queue...
    run = client.run_task(
        "Sign in as alice",
        url=sites.url("signin.html"),
        browser_session_id=session.browser_session_id,
    )
    # ...and failed by the scheduler once the session's lease ran out, not left queued.
    ended = client.wait_for_run(run.run_id, timeout=60)
    assert ended.status == "failed"
    assert session.browser_session_id in (ended.failure_reason or "")
    assert "worker holding it stopped" in (ended.failure_reason or "")
    lost = client.get_browser_session(session.browser_session_id)
    assert lost.status == "failed"
    # The worker still up takes new sessions; stopping it ends them at once.
    again = client.create_browser_session(timeout=5)
    running(client, again.browser_session_id)
    os.killpg(bystander.pid, signal.SIGTERM)
    bystander.wait(timeout=60)
    stopped = client.get_browser_session(again.browser_session_id)
    assert stopped.status == "failed"
    assert stopped.failure_reason == "the worker holding it stopped"
