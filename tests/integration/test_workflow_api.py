"""Workflows over the API with real processes (SDK -> API -> Redis -> threads worker ->
PostgreSQL and S3): published by a task run, read and edited as code, run by id with
the model switched off."""

from __future__ import annotations

import httpx
import pytest

import skyq
from skyq.client.errors import NotFoundError, UnprocessableEntityError
from tests.cluster import Cluster
from tests.integration.test_workflows import PROMPT, SCHEMA, no_model, sign_in_model
from tests.sites.server import ACCOUNT_PASSWORD


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, fake_llm_server, s3_server):
    deployment = Cluster(
        tmp_path_factory.mktemp("workflows"),
        fake_llm_server.url,
        s3_server,
        SKYQ_WORKER_POOL="threads",
    )
    try:
        deployment.start_api()
        deployment.start_worker(concurrency=2)
        deployment.key = deployment.create_key("org-workflows")
        yield deployment
    finally:
        deployment.close()


@pytest.fixture(scope="module")
def workflow_id(cluster, fake_llm_server, sites):
    fake_llm_server.reset(sign_in_model)
    with skyq.Client(cluster.url, api_key=cluster.key) as client:
        run = client.run_task(
            PROMPT,
            url=sites.url("signin.html"),
            data_extraction_schema=SCHEMA,
            publish_workflow=True,
            wait_for_completion=True,
            timeout=120,
        )
    assert run.status == "completed", run.failure_reason
    assert run.workflow_permanent_id is not None
    return run.workflow_permanent_id


def test_a_published_workflow_runs_by_id_with_the_model_off(cluster, fake_llm_server, workflow_id):
    fake_llm_server.reset(no_model)
    with skyq.Client(cluster.url, api_key=cluster.key) as client:
        shown = client.get_workflow(workflow_id)
        assert shown.parameters == {"username": "alice", "password": None}
        assert shown.secrets == ["password"] and shown.revision == 1
        assert 'get_by_role("button", name="Sign in", exact=True)' in shown.code
        assert workflow_id in [w.workflow_permanent_id for w in client.get_workflows()]

        run = client.run_workflow(
            workflow_id,
            parameters={"password": ACCOUNT_PASSWORD},
            wait_for_completion=True,
            timeout=120,
        )
        assert run.status == "completed", run.failure_reason
        assert run.run_id.startswith("wr_") and run.run_type == "workflow_run"
        assert run.output == {"user": "alice", "balance": 42.0}
        assert run.script_run is not None and run.script_run.script_id == workflow_id
        assert run.run_request is not None and run.run_request.workflow_id == workflow_id
        assert run.recording_url and run.screenshot_urls
        # The secret is in no stored artifact of the run, nor in its stored request.
        for artifact in client.get_run_artifacts(run.run_id):
            body = httpx.get(artifact.signed_url, timeout=30).content
            assert ACCOUNT_PASSWORD.encode() not in body, artifact.artifact_type
        raw = httpx.get(
            f"{cluster.url}/v1/runs/{run.run_id}", headers={"x-api-key": cluster.key}
        ).text
        assert ACCOUNT_PASSWORD not in raw

        # Newer SDKs call the same thing an agent.
        answer = httpx.post(
            f"{cluster.url}/v1/run/agents",
            json={"agent_id": workflow_id, "parameters": {"password": ACCOUNT_PASSWORD}},
            headers={"x-api-key": cluster.key},
        )
        assert answer.status_code == 200, answer.text
        ended = client.wait_for_run(answer.json()["run_id"], timeout=120)
        assert ended.status == "completed"
    assert fake_llm_server.calls == []


def test_a_workflow_runs_in_a_browser_session_and_leaves_its_page_open(
    cluster, fake_llm_server, workflow_id
):
    fake_llm_server.reset(no_model)
    with skyq.Client(cluster.url, api_key=cluster.key) as client:
        session = client.create_browser_session(timeout=10)
        run = client.run_workflow(
            workflow_id,
            parameters={"password": ACCOUNT_PASSWORD},
            browser_session_id=session.browser_session_id,
            wait_for_completion=True,
            timeout=120,
        )
        assert run.status == "completed", run.failure_reason
        assert run.output == {"user": "alice", "balance": 42.0}
        assert run.browser_session_id == session.browser_session_id
        assert run.script_run is not None  # the code ran, in the session's context
        held = client.get_browser_session(session.browser_session_id)
        assert held.status == "running" and held.runnable_id is None
        closed = client.close_browser_session(session.browser_session_id)
        assert closed.status == "completed"
    assert fake_llm_server.calls == []


def test_edited_code_is_checked_and_stored_as_a_revision(cluster, workflow_id):
    with skyq.Client(cluster.url, api_key=cluster.key) as client:
        code = client.get_workflow(workflow_id).code
        bad = code.replace(
            "async def run(page, params):", "import os\n\nasync def run(page, params):"
        )
        with pytest.raises(UnprocessableEntityError) as refused:
            client.update_workflow_code(workflow_id, bad)
        assert "line" in str(refused.value) and "top level" in str(refused.value)
        evil = code.replace(".click()", ".evaluate('fetch(1)')")
        with pytest.raises(UnprocessableEntityError) as refused:
            client.update_workflow_code(workflow_id, evil)
        assert ".evaluate() is not an action skyq runs" in str(refused.value)
        assert client.get_workflow(workflow_id).revision == 1

        edited = client.update_workflow_code(workflow_id, code.replace("alice", "alice"))
        assert edited.revision == 2 and edited.revisions[-1].origin == "edited"
        assert client.get_workflow(workflow_id, revision=1).revision == 1


def test_bad_workflow_runs_are_refused_naming_the_field(cluster, workflow_id):
    with skyq.Client(cluster.url, api_key=cluster.key) as client:
        with pytest.raises(UnprocessableEntityError) as missing:
            client.run_workflow(workflow_id)
        assert "parameters.password" in str(missing.value)
        with pytest.raises(UnprocessableEntityError) as unknown:
            client.run_workflow(workflow_id, parameters={"password": "x", "pin": "1"})
        assert "parameters.pin" in str(unknown.value)
        with pytest.raises(NotFoundError):
            client.run_workflow("wpid_nope")
        with pytest.raises(UnprocessableEntityError) as run_with:
            client.run_workflow(workflow_id, parameters={"password": "x"}, run_with="robot")
        assert "run_with" in str(run_with.value)
