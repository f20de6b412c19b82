"""publish_workflow, run_with="code" and the AI fallback, in process on the fixture
sites: a task published, replayed with no model, replayed after the page changed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from skyq.db.workflow_store import WorkflowStore
from skyq.errors import InvalidRequestError
from skyq.schemas.credential import LoginRequest
from skyq.task_kinds import login_task
from skyq.workflows.script import parse_script
from tests.fake_llm import Call, Script, plan_as_is
from tests.integration.test_agent_actions import act, complete
from tests.integration.test_login_and_downloads import PASSWORD, login_model
from tests.integration.test_parameters import download_report
from tests.sites.server import ACCOUNT_PASSWORD, TOTP_SECRET

PROMPT = f"Sign in as alice with the password {ACCOUNT_PASSWORD} and report the balance"
SCHEMA = {
    "type": "object",
    "properties": {"user": {"type": "string"}, "balance": {"type": "number"}},
    "required": ["user", "balance"],
}


def sign_in_model(call: Call) -> dict:
    if call.kind == "plan":
        return plan_as_is(call)
    if call.kind == "verify":
        return {"user_goal_achieved": True, "reasoning": "done"}
    text = call.text
    if "Signed in as alice" in text:
        return {
            "actions": [{"action_type": "complete", "data": {"user": "alice", "balance": 42.0}}]
        }
    button = ">Sign in<" if ">Sign in<" in text else ">Continue<"
    return {
        "actions": [
            {"action_type": "input_text", "id": call.id_of("label=Username"), "text": "alice"},
            {
                "action_type": "input_text",
                "id": call.id_of("label=Password"),
                # Told the password in the prompt, or only its placeholder.
                "text": "{{password}}" if "{{password}}" in text else ACCOUNT_PASSWORD,
            },
            {"action_type": "click", "id": call.id_of(button)},
        ]
    }


def no_model(call: Call) -> dict:
    raise AssertionError("the model was called")


@pytest.fixture
def published(embedded, fake_llm, sites):
    sites.variants.clear()
    fake_llm.reset(sign_in_model)
    response = embedded.run(
        prompt=PROMPT,
        url=sites.url("signin.html"),
        data_extraction_schema=SCHEMA,
        publish_workflow=True,
    )
    assert response.status == "completed", response.failure_reason
    assert response.workflow_permanent_id and response.workflow_permanent_id.startswith("wpid_")
    yield response
    sites.variants.clear()


def test_a_published_task_is_readable_code_with_parameters(embedded, published, sites):
    workflows = WorkflowStore(embedded.store)
    revision = workflows.revision(published.workflow_permanent_id)
    code = revision.code
    assert revision.revision == 1 and revision.origin == "published"
    assert 'await page.goto("' + sites.url("signin.html") + '")' in code
    assert 'page.get_by_label("Username", exact=True).fill(params["username"])' in code
    assert 'page.get_by_label("Password", exact=True).fill(params["password"])' in code
    assert 'page.get_by_role("button", name="Sign in", exact=True).click()' in code
    assert not re.search(r"\bK\d+\b", code), "skyq's element ids leaked into the code"
    assert ACCOUNT_PASSWORD not in code
    script = parse_script(code)
    assert script.parameters == {"username": "alice", "password": None}
    assert script.secrets == {"password"}
    assert "read(page.locator(" in code  # the output is read off the page, no model
    assert '"balance": await read(page.locator("body > p"), "number"),' in code
    assert code.count("await ") >= 6
    files = embedded.store.artifacts(published.run_id, ["script_file"])
    assert len(files) == 1


def test_the_published_code_runs_on_its_own_as_a_playwright_script(embedded, published, tmp_path):
    code = WorkflowStore(embedded.store).revision(published.workflow_permanent_id).code
    path = tmp_path / "workflow.py"
    path.write_text(code)
    done = subprocess.run(
        [sys.executable, str(path), "--param", f"password={ACCOUNT_PASSWORD}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"user": "alice", "balance": 42.0}
    refused = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2 and "give --param password=..." in refused.stderr


def test_replayed_with_no_model_and_again_after_the_page_changed(
    embedded, published, fake_llm, sites
):
    wpid = published.workflow_permanent_id
    fake_llm.reset(no_model)
    replay = embedded.run_workflow(wpid, parameters={"password": ACCOUNT_PASSWORD})
    assert replay.status == "completed", replay.failure_reason
    assert replay.run_id.startswith("wr_") and replay.run_type == "workflow_run"
    assert replay.output == {"user": "alice", "balance": 42.0}
    assert replay.script_run is not None
    assert replay.script_run.script_id == wpid
    assert replay.script_run.ai_fallback_triggered is False
    assert fake_llm.calls == []
    assert replay.run_request.parameters == {"password": "******"}
    steps = embedded.store.steps(replay.run_id)
    assert len(steps) == 4  # goto, two fills, the click: one step each
    for action in embedded.store.actions(replay.run_id):
        assert ACCOUNT_PASSWORD not in str(action.payload) + str(action.element_text)

    # The site changed its button; the code's click fails and the agent takes over.
    sites.variants["/signin.html"] = "/signin-v2.html"
    fake_llm.reset(sign_in_model)
    changed = embedded.run_workflow(wpid, parameters={"password": ACCOUNT_PASSWORD})
    assert changed.status == "completed", changed.failure_reason
    assert changed.output == {"user": "alice", "balance": 42.0}
    assert changed.script_run is not None and changed.script_run.ai_fallback_triggered is True
    assert fake_llm.kinds()[0] == "step"
    # The agent typed the secret by its placeholder; the model never saw it.
    assert "{{password}}" in fake_llm.calls[0].text
    assert all(ACCOUNT_PASSWORD not in str(call.body) for call in fake_llm.calls)
    latest = WorkflowStore(embedded.store).revision(wpid)
    assert latest.revision == 2 and latest.origin == "regenerated"
    assert 'get_by_role("button", name="Continue", exact=True).click()' in latest.code
    assert ACCOUNT_PASSWORD not in latest.code

    # The new code works on the new page without the model.
    fake_llm.reset(no_model)
    again = embedded.run_workflow(wpid, parameters={"password": ACCOUNT_PASSWORD})
    assert again.status == "completed", again.failure_reason
    assert again.script_run is not None and again.script_run.ai_fallback_triggered is False
    assert again.script_run.script_revision_id == latest.script_revision_id
    assert fake_llm.calls == []


def test_parameters_are_checked_and_run_with_agent_uses_the_model(
    embedded, published, fake_llm, sites
):
    fake_llm.reset(no_model)
    # The secret is not a default: without it the code cannot run, so the agent would.
    with pytest.raises(InvalidRequestError) as missing:
        embedded.run_workflow(published.workflow_permanent_id)
    assert missing.value.field == "parameters.password"
    fake_llm.reset(sign_in_model)
    agent = embedded.run_workflow(
        published.workflow_permanent_id,
        run_with="agent",
        parameters={"password": ACCOUNT_PASSWORD},
    )
    assert agent.status == "completed" and agent.script_run is None
    assert fake_llm.kinds()[:2] == ["plan", "step"]  # the default engine, skyvern-2.0
    assert all(ACCOUNT_PASSWORD not in str(call.body) for call in fake_llm.calls)


def test_without_fallback_a_broken_step_fails_the_run_naming_the_line(
    embedded, published, fake_llm, sites
):
    sites.variants["/signin.html"] = "/signin-v2.html"
    fake_llm.reset(no_model)
    broken = embedded.run_workflow(
        published.workflow_permanent_id,
        parameters={"password": ACCOUNT_PASSWORD},
        ai_fallback=False,
    )
    assert broken.status == "failed"
    assert "the workflow's code failed: line" in (broken.failure_reason or "")
    assert 'name="Sign in"' in (broken.failure_reason or "")
    assert fake_llm.calls == []


def test_a_task_run_with_code_reads_a_list_off_the_page_without_a_model(embedded, fake_llm, sites):
    top3 = {
        "products": [
            {"name": "Aurora Lamp", "price": 29.99},
            {"name": "Borealis Kettle", "price": 54.0},
            {"name": "Comet Headphones", "price": 119.5},
        ]
    }
    fake_llm.reset(
        lambda call: (
            {"actions": [{"action_type": "complete", "data": top3}]}
            if call.kind == "step"
            else {"user_goal_achieved": True, "reasoning": "ok"}
        )
    )
    task = {"prompt": "Name and price of the first 3 products", "url": sites.url("products.html")}
    first = embedded.run(**task, publish_workflow=True)
    assert first.status == "completed" and first.workflow_permanent_id
    code = WorkflowStore(embedded.store).revision(first.workflow_permanent_id).code
    assert "read_each(" in code and '"div.product"' not in code
    assert 'page.locator("body > div.products > div.product")' in code
    fake_llm.reset(no_model)
    replay = embedded.run(**task, run_with="code")
    assert replay.status == "completed", replay.failure_reason
    assert replay.output == top3
    assert replay.script_run is not None
    assert replay.script_run.script_id == first.workflow_permanent_id
    assert fake_llm.calls == []


def test_a_published_login_with_2fa_replays_fetching_its_code(embedded, fake_llm, sites):
    """The code a login leaves types the one-time code as a secret parameter; a replay
    with a totp_url fetches a fresh one for that line, with no model."""
    credential_id = embedded.credential(PASSWORD, TOTP_SECRET)
    fake_llm.reset(login_model)
    login = login_task(
        LoginRequest(credential_id=credential_id, url=sites.url("login.html")), "ada"
    )
    first = embedded.run(**{**login.model_dump(), "publish_workflow": True})
    assert first.status == "completed" and first.workflow_permanent_id, first.failure_reason
    wpid = first.workflow_permanent_id
    code = WorkflowStore(embedded.store).revision(wpid).code
    script = parse_script(code)
    assert script.secrets == {"password", "verification_code"}

    # Without a source of codes, the code is a parameter like any other.
    with pytest.raises(InvalidRequestError) as missing:
        embedded.run_workflow(wpid, parameters={"password": PASSWORD})
    assert missing.value.field == "parameters.verification_code"

    fake_llm.reset(no_model)
    served = len(sites.codes_served)  # the fixture sites serve the whole session
    replay = embedded.run_workflow(
        wpid, parameters={"password": PASSWORD}, totp_url=sites.url("totp-endpoint")
    )
    assert replay.status == "completed", replay.failure_reason
    assert replay.script_run is not None and replay.script_run.ai_fallback_triggered is False
    assert fake_llm.calls == []
    [fetched] = sites.codes_served[served:]  # once, for the line that types it, and typed there
    assert f"/2fa/verify?code={fetched}" in [r.path for r in sites.requests]
    for path in Path(embedded.settings.home).rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_an_upload_is_published_as_a_file_parameter_and_replayed(embedded, fake_llm, sites):
    """The file is a parameter whose default is the run's own (a URL here); a replay
    fetches it, or the stored artifact it is given instead, with no model."""
    artifact_id = download_report(embedded, fake_llm, sites)
    url = sites.url("files/report.csv")

    def upload(call: Call) -> dict:
        return act({"action_type": "upload_file", "id": call.id_of("type=file"), "file_url": url})

    def report(call: Call) -> dict:
        line = next(x for x in call.text.splitlines() if "Received " in x)
        return complete({"status": line[line.index("Received ") :]})

    fake_llm.reset(Script([upload, report]))
    schema = {"type": "object", "properties": {"status": {"type": "string"}}}
    task = {"prompt": "Upload the report", "url": sites.url("upload.html")}
    first = embedded.run(**task, data_extraction_schema=schema, publish_workflow=True)
    assert first.status == "completed" and first.workflow_permanent_id, first.failure_reason
    wpid = first.workflow_permanent_id
    code = WorkflowStore(embedded.store).revision(wpid).code
    assert 'get_by_label("Document", exact=True).set_input_files(params["document"])' in code
    assert parse_script(code).parameters["document"] == url

    fake_llm.reset(no_model)
    again = embedded.run_workflow(wpid)
    assert again.status == "completed", again.failure_reason
    assert again.output == {"status": "Received report.csv (42 bytes), first line: city,population"}
    other = embedded.run_workflow(wpid, parameters={"document": artifact_id})
    assert other.status == "completed", other.failure_reason
    assert other.output["status"].startswith("Received cities-report.csv (42 bytes)")
    assert fake_llm.calls == []
    uploads = [a for a in embedded.store.actions(other.run_id) if a.action_type == "upload_file"]
    assert len(uploads) == 1 and uploads[0].status == "completed"
