"""`skyq` as a user runs it: a real process, its stdout, stderr and exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.fake_llm import Script
from tests.integration.test_agent_actions import act, complete
from tests.integration.test_agent_outcomes import closed_port


def skyq(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from skyq.cli.main import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def env(tmp_path, fake_llm) -> dict[str, str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("SKYQ_", "OPENAI_", "ANTHROPIC_"))
    }
    base.update(
        SKYQ_HOME=str(tmp_path / "home"),
        SKYQ_LLM_MODEL="fake-model",
        SKYQ_LLM_API_BASE=fake_llm.url,
        SKYQ_LLM_MAX_RETRIES="0",
        SKYQ_EGRESS_ALLOW='["127.0.0.1"]',
    )
    return base


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("skyq: error: ")
    return lines[0].removeprefix("skyq: error: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "example.com"], "--url: 'example.com' has no scheme; use http:// or https://"),
        (["--url", "javascript:alert(1)"], "--url: scheme 'javascript' is not allowed"),
        (["--max-steps", "0"], "--max-steps: Input should be greater than 0"),
        (["--max-steps", "-3"], "--max-steps: Input should be greater than 0"),
        (["--schema", "{not json"], "--schema: is not valid JSON"),
        (["--schema", '{"type": "objekt"}'], "--schema: is not a valid JSON Schema at type"),
        (["--schema", "missing.json"], "--schema: no such file missing.json"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(env, args, message):
    result = skyq("run", "Do it", *args, env=env)
    assert result.returncode == 2
    assert one_error_line(result).startswith(message)
    assert result.stdout == ""


def test_autoscale_on_the_threads_pool_is_refused_by_name(env):
    result = skyq("worker", "--pool", "threads", "--autoscale", "4,1", env=env)
    assert result.returncode == 2
    assert one_error_line(result) == (
        "--autoscale needs --pool prefork: the threads pool has a fixed size"
    )


def test_max_steps_must_be_a_number(env):
    result = skyq("run", "Do it", "--max-steps", "many", env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "'many' is not a valid integer" in result.stderr


def test_engine_must_be_one_skyq_has(env):
    result = skyq("run", "Do it", "--engine", "skyvern-9", env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "Invalid value for '--engine'" in result.stderr and "ui-tars" in result.stderr


def test_a_computer_use_engine_without_its_model_says_what_to_set(env):
    result = skyq("run", "Do it", "--engine", "ui-tars", "--url", "http://127.0.0.1:1/", env=env)
    assert result.returncode == 2
    assert one_error_line(result).startswith(
        "engine 'ui-tars' has no model: set SKYQ_UI_TARS_MODEL"
    )


def test_no_model_configured_says_what_to_set(env):
    del env["SKYQ_LLM_MODEL"], env["SKYQ_LLM_API_BASE"]
    result = skyq("run", "Do it", "--url", "http://127.0.0.1:1/", env=env)
    assert result.returncode == 2
    line = one_error_line(result)
    assert line.startswith("no model configured: set SKYQ_LLM_MODEL")
    assert "SKYQ_LLM_API_BASE" in line


def test_provider_key_missing_names_the_variable(env):
    del env["SKYQ_LLM_API_BASE"]
    env["SKYQ_LLM_MODEL"] = "gpt-4o-mini"
    result = skyq("run", "Do it", "--url", "http://127.0.0.1:1/", env=env)
    assert result.returncode == 2
    assert (
        one_error_line(result)
        == "SKYQ_LLM_MODEL='gpt-4o-mini' needs OPENAI_API_KEY in the environment"
    )


def test_bad_setting_is_named(env):
    env["SKYQ_NAVIGATION_TIMEOUT_SECONDS"] = "soon"
    result = skyq("run", "Do it", env=env)
    assert result.returncode == 2
    assert one_error_line(result).startswith("SKYQ_NAVIGATION_TIMEOUT_SECONDS: ")


def test_unreachable_url_ends_the_run_failed(env, fake_llm):
    url = f"http://127.0.0.1:{closed_port()}/"
    result = skyq("run", "Open it", "--url", url, env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    body = json.loads(result.stdout)
    assert body["status"] == "failed"
    assert body["failure_reason"] == f"cannot load {url}: ERR_CONNECTION_REFUSED"
    assert result.stderr.strip().endswith(f"failed: cannot load {url}: ERR_CONNECTION_REFUSED")


def test_run_prints_the_response_and_a_line_per_step(env, fake_llm, sites, tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"cart": {"type": "string"}}}))
    fake_llm.script = Script(
        [
            lambda c: act({"action_type": "click", "id": c.id_of("Add to cart")}),
            complete({"cart": "Cart: 1 item"}),
        ]
    )
    result = skyq(
        "run",
        "Add the lamp to the cart",
        "--url",
        sites.url("products.html"),
        "--schema",
        str(schema),
        "--max-steps",
        "5",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["status"] == "completed"
    assert body["output"] == {"cart": "Cart: 1 item"}
    assert body["run_type"] == "task_v2"  # skyvern-2.0, the default: a plan step first
    assert body["step_count"] == 3
    assert body["run_id"].startswith("tsk_")
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("step 1/5  plan  ")
    assert lines[1].startswith('step 2/5  click "Add to cart"  ')
    assert lines[1].endswith("s")
    assert lines[2].startswith("step 3/5  complete  ")

    listed = skyq("runs", "list", env=env)
    assert listed.returncode == 0
    assert body["run_id"] in listed.stdout and "completed" in listed.stdout

    shown = skyq("runs", "show", body["run_id"], env=env)
    assert shown.returncode == 0
    detail = json.loads(shown.stdout)
    assert detail["status"] == "completed"
    assert detail["llm_usage"]["input_tokens"] == 400  # the plan, two steps and a verify
    plan, click, done = detail["timeline"]
    assert plan["actions"][0]["action_type"] == "plan"
    assert plan["actions"][0]["payload"]["sub_goals"] == ["Add the lamp to the cart"]
    assert click["step"]["input_tokens"] == 100
    first_action = click["actions"][0]
    assert (first_action["action_type"], first_action["element_text"]) == ("click", "Add to cart")
    assert done["actions"][0]["action_type"] == "complete"

    missing = skyq("runs", "show", "tsk_nope", env=env)
    assert missing.returncode == 1
    assert one_error_line(missing) == "no run 'tsk_nope'"


def test_model_flag_overrides_the_setting(env, fake_llm, sites):
    fake_llm.script = Script([complete()])
    result = skyq(
        "run", "Done", "--url", sites.url("products.html"), "--model", "other-model", env=env
    )
    assert result.returncode == 0, result.stderr
    assert fake_llm.calls[0].body["model"] == "other-model"


def test_skyq_demo_runs_the_bundled_workflow_with_no_model(env, fake_llm):
    """No model configured: the bundled workflow runs as code, through a worker of its
    own on the broker (Redis is up here; --in-process is the next test's)."""
    demo_env = {k: v for k, v in env.items() if not k.startswith("SKYQ_LLM")}
    demo_env.pop("SKYQ_EGRESS_ALLOW")  # the demo opens exactly its own shop
    done = skyq("demo", env=demo_env)
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    assert response["run_id"].startswith("wr_") and response["status"] == "completed"
    assert response["output"]["products"][0] == {
        "name": "Ridgeline 2-Person Tent",
        "price": 189.0,
        "rating": 4.6,
    }
    assert len(response["output"]["products"]) == 3
    assert response["script_run"]["ai_fallback_triggered"] is False
    assert response["recording_url"] and response["screenshot_urls"]
    assert "is up; queueing the run" in done.stderr
    assert "screenshot_final" in done.stderr  # the artifacts, listed
    assert fake_llm.calls == []


def test_skyq_workflows_show_and_edit(env, tmp_path):
    here = skyq("demo", "--in-process", env=env)
    assert here.returncode == 0, here.stderr
    assert "running in this process" in here.stderr
    assert json.loads(here.stdout)["output"]["products"][2]["name"] == "Trailhead Headlamp"
    listed = skyq("workflows", "list", env=env)
    assert listed.returncode == 0 and "wpid_" in listed.stdout
    workflow_id = listed.stdout.split()[0]
    shown = skyq("workflows", "show", workflow_id, env=env)
    assert shown.returncode == 0 and "async def run(page, params):" in shown.stdout
    assert "rev 1" in shown.stderr
    bad = tmp_path / "bad.py"
    bad.write_text(shown.stdout.replace("await page.goto(", "await page.evaluate("))
    refused = skyq("workflows", "edit", workflow_id, str(bad), env=env)
    assert refused.returncode == 2
    assert (
        "code: line" in refused.stderr and "page.evaluate() is not one skyq runs" in refused.stderr
    )
    assert "Traceback" not in refused.stderr
    good = tmp_path / "good.py"
    good.write_text(shown.stdout.replace("limit=3", "limit=2"))
    edited = skyq("workflows", "edit", workflow_id, str(good), env=env)
    assert edited.returncode == 0 and "revision 2" in edited.stdout
    assert "limit=2" in skyq("workflows", "show", workflow_id, env=env).stdout
