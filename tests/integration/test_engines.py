"""Every engine end to end: a scripted model in the provider's own wire format (the fake
server checks each request as the provider would) -> litellm -> real Chromium ->
tests/sites/pointer.html, whose targets sit at known places, as a real model would read
them off the screenshot.

A test's evidence is the page as the text model saw it at the end (the extract call's
page listing), and what was recorded."""

from __future__ import annotations

import base64
import html
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from PIL import Image

from skyq.agent.screen_loop import without_images
from skyq.api.pages import render_run_page
from skyq.bootstrap import open_run_store
from skyq.browser import BrowserRoom
from skyq.config import Settings
from skyq.responses import timeline
from skyq.runner import RunServices, browser_options
from skyq.schemas import TaskRunRequest
from skyq.storage import open_artifact_store
from tests.conftest import Embedded, make_settings
from tests.fake_llm import Call, FakeLLM, Script
from tests.integration.test_agent_outcomes import PRODUCTS_SCHEMA
from tests.sites.server import TOTP_SECRET

NAME = (250, 115)  # the Name field's centre, in CSS pixels of the viewport
SAVE = (160, 180)
TWICE = (580, 120)
MENU = (780, 120)
HANDLE = (120, 320)
FAR_AFTER_SCROLL = (160, 120)  # the far button, once the page is scrolled by 1400px
STATUS_SCHEMA = {
    "type": "object",
    "properties": {"status": {"type": "string"}},
    "required": ["status"],
}


def extract_saw(fake: FakeLLM) -> str:
    extracts = [c for c in fake.calls if c.kind == "extract"]
    assert extracts, f"no extract call in {fake.kinds()}"
    return extracts[-1].text


def picture(data_url_or_b64: str) -> Image.Image:
    data = data_url_or_b64.split(",", 1)[-1]
    return Image.open(io.BytesIO(base64.b64decode(data)))


def status_of(call: Call) -> dict[str, str]:
    line = next(x for x in call.text.splitlines() if "Saved:" in x or x == "Nothing yet")
    return {"status": line}


def assert_marked(embedded: Embedded, run_id: str, point: tuple[int, int]) -> None:
    """The first action's screenshot has the ring drawn around the point clicked."""
    shots = embedded.store.artifacts(run_id, types=["screenshot_action"])
    assert shots, "no marked screenshots were recorded"
    image = Image.open(io.BytesIO(embedded.artifacts.get(shots[0].uri))).convert("RGB")
    assert image.size == (1280, 720)
    red, green, blue = image.getpixel((point[0], point[1] - 12))  # on the ring
    assert red > 180 and green < 110 and blue < 140, (red, green, blue)


def _with(
    tmp_path: Any, fake_llm: FakeLLM, room: BrowserRoom, loop: Any, **settings: Any
) -> Embedded:
    """An embedded skyq whose settings differ from the fixtures' by ``settings``."""
    return _embedded(make_settings(tmp_path / "home", fake_llm.url, **settings), room, loop)


# openai-cua -------------------------------------------------------------------------


def computer_call(action: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    return [
        {"type": "reasoning", "summary": []},
        {"type": "computer_call", "action": action, **extra},
    ]


def said(text: str) -> list[dict[str, Any]]:
    return [{"type": "message", "content": [{"type": "output_text", "text": text}]}]


def test_openai_cua_drives_the_page_with_coordinates(embedded, fake_llm, sites):
    fake_llm.script = Script(
        screen=[
            computer_call({"type": "click", "button": "left", "x": NAME[0], "y": NAME[1]}),
            computer_call({"type": "type", "text": "Ada"}),
            computer_call({"type": "click", "button": "left", "x": SAVE[0], "y": SAVE[1]}),
            computer_call({"type": "double_click", "x": TWICE[0], "y": TWICE[1]}),
            computer_call({"type": "keypress", "keys": ["CTRL", "B"]}),
            computer_call(
                {"type": "drag", "path": [{"x": HANDLE[0], "y": HANDLE[1]}, {"x": 400, "y": 320}]}
            ),
            computer_call({"type": "scroll", "x": 640, "y": 360, "scroll_x": 0, "scroll_y": 1400}),
            computer_call({"type": "click", "button": "left", "x": 160, "y": 120}),
            said("All done."),
        ],
        extract=[status_of],
    )
    response = embedded.run(
        prompt="Save the name Ada, then press the far button",
        url=sites.url("pointer.html"),
        engine="openai-cua",
        data_extraction_schema=STATUS_SCHEMA,
        max_steps=12,
    )
    assert response.status == "completed", response.failure_reason
    assert response.run_type == "openai_cua"
    seen = extract_saw(fake_llm)
    assert (
        "Saved: Ada | Double-clicked | Ctrl+B pressed | Dropped at 400 | Far clicked at scroll 1400"
        in seen
    )
    assert response.output["status"].startswith("Saved: Ada")

    turns = [c for c in fake_llm.calls if c.kind == "openai-cua"]
    assert len(turns) == 9
    # Nine turns, the check of the answer and the extraction, 100 tokens in each;
    # priced from litellm's map.
    assert response.llm_usage.input_tokens == 1100
    assert response.llm_usage.cost > 0
    first, second = turns[0].body, turns[1].body
    tool = first["tools"][0]
    assert (tool["display_width"], tool["display_height"]) == (1280, 720)
    assert first["input"][0]["content"][0]["text"].startswith("TASK: Save the name Ada")
    assert picture(first["input"][0]["content"][1]["image_url"]).size == (1280, 720)
    assert second["previous_response_id"] == "resp_1"
    output = second["input"][0]
    assert output["type"] == "computer_call_output"
    assert output["current_url"] == sites.url("pointer.html")
    actions = [a.action_type for a in embedded.store.actions(response.run_id)]
    assert actions == [
        "mouse_click",
        "type_text",
        "mouse_click",
        "mouse_click",
        "press_keys",
        "mouse_drag",
        "mouse_scroll",
        "mouse_click",
        "complete",  # the answer, checked on the page
    ]
    assert_marked(embedded, response.run_id, NAME)


@pytest.mark.parametrize("tool", ["computer_use_preview", "computer"])
def test_openai_cua_several_actions_in_one_call_get_one_output(
    tmp_path, fake_llm, sites, room, loop, tool
):
    """The GA tool (``computer``, GPT-5.4 on) batches actions under one call_id."""
    embedded = _with(tmp_path, fake_llm, room, loop, openai_cua_tool=tool)
    batch = [
        {"type": "click", "x": NAME[0], "y": NAME[1]},
        {"type": "type", "text": "Grace"},
        {"type": "click", "x": SAVE[0], "y": SAVE[1]},
    ]
    fake_llm.script = Script(
        screen=[[{"type": "computer_call", "actions": batch}], said("saved")],
        extract=[status_of],
    )
    response = embedded.run(
        prompt="Save Grace",
        url=sites.url("pointer.html"),
        engine="openai-cua",
        data_extraction_schema=STATUS_SCHEMA,
    )
    assert response.status == "completed", response.failure_reason
    assert response.output == {"status": "Saved: Grace"}
    outputs = [i for i in fake_llm.calls[1].body["input"] if i["type"] == "computer_call_output"]
    assert len(outputs) == 1
    assert fake_llm.calls[0].body["tools"][0]["type"] == tool


def test_openai_cua_safety_checks_refused_unless_acknowledged(embedded, fake_llm, sites):
    check = {"id": "sc_1", "code": "malicious_instructions", "message": "odd page text"}
    fake_llm.script = Script(
        screen=[computer_call({"type": "click", "x": 5, "y": 5}, pending_safety_checks=[check])]
    )
    response = embedded.run(prompt="Click", url=sites.url("pointer.html"), engine="openai-cua")
    assert response.status == "terminated"
    assert "malicious_instructions: odd page text" in response.failure_reason
    assert "SKYQ_CUA_ACKNOWLEDGE_SAFETY_CHECKS" in response.failure_reason


def test_openai_cua_acknowledges_safety_checks_when_told(tmp_path, fake_llm, sites, room, loop):
    embedded = _with(tmp_path, fake_llm, room, loop, cua_acknowledge_safety_checks=True)
    check = {"id": "sc_9", "code": "irrelevant_domain", "message": "off the task's site"}
    fake_llm.script = Script(
        screen=[
            computer_call({"type": "click", "x": 5, "y": 5}, pending_safety_checks=[check]),
            said("done"),
        ]
    )
    response = embedded.run(prompt="Click", url=sites.url("pointer.html"), engine="openai-cua")
    # The fake server refuses a turn whose check was not acknowledged, as OpenAI does.
    assert response.status == "completed", response.failure_reason
    last_turn = [c for c in fake_llm.calls if c.kind == "openai-cua"][-1]
    acknowledged = last_turn.body["input"][0]["acknowledged_safety_checks"]
    assert acknowledged == [check]


# anthropic-cua ----------------------------------------------------------------------


def tool_use(action: str, **fields: Any) -> list[dict[str, Any]]:
    return [
        {"type": "text", "text": f"Next: {action}."},
        {"type": "tool_use", "name": "computer", "input": {"action": action, **fields}},
    ]


def test_anthropic_cua_drives_the_page_with_coordinates(embedded, fake_llm, sites):
    fake_llm.script = Script(
        screen=[
            tool_use("left_click", coordinate=list(NAME)),
            tool_use("type", text="Ada"),
            tool_use("left_click", coordinate=list(SAVE)),
            tool_use("key", text="ctrl+b"),
            tool_use("right_click", coordinate=list(MENU)),
            tool_use("scroll", coordinate=[640, 360], scroll_direction="down", scroll_amount=14),
            tool_use("left_click", coordinate=list(FAR_AFTER_SCROLL)),
            [{"type": "text", "text": "The name is saved."}],
        ],
        extract=[status_of],
    )
    response = embedded.run(
        prompt="Save the name Ada",
        url=sites.url("pointer.html"),
        engine="anthropic-cua",
        data_extraction_schema=STATUS_SCHEMA,
        max_steps=10,
    )
    assert response.status == "completed", response.failure_reason
    assert response.run_type == "anthropic_cua"
    assert (
        "Saved: Ada | Ctrl+B pressed | Right-clicked | Far clicked at scroll 1400"
        in extract_saw(fake_llm)
    )
    turns = [c for c in fake_llm.calls if c.kind == "anthropic-cua"]
    assert len(turns) == 8
    assert turns[0].headers["anthropic-beta"] == "computer-use-2025-01-24"
    tool = turns[0].body["tools"][0]
    assert tool == {
        "type": "computer_20250124",
        "name": "computer",
        "display_width_px": 1280,
        "display_height_px": 720,
    }
    # Only the latest screenshots are resent: the conversation stays bounded.
    last = turns[-1].body["messages"]
    images = json.dumps(last).count('"type": "image"')
    assert images == 3
    assert_marked(embedded, response.run_id, NAME)


def status_run(embedded: Embedded, sites: Any, prompt: str, engine: str) -> Any:
    """A run on pointer.html whose output is its status line; it must complete."""
    response = embedded.run(
        prompt=prompt,
        url=sites.url("pointer.html"),
        engine=engine,
        data_extraction_schema=STATUS_SCHEMA,
    )
    assert response.status == "completed", response.failure_reason
    return response


def assert_anthropic_tool(call: Call, tool: str, beta: str) -> None:
    assert call.body["tools"][0]["type"] == tool
    assert call.headers["anthropic-beta"] == beta


def test_anthropic_cua_newer_tool_and_a_drag_in_parts(tmp_path, fake_llm, sites, room, loop):
    embedded = _with(tmp_path, fake_llm, room, loop, anthropic_cua_tool="computer_20251124")
    fake_llm.script = Script(
        screen=[
            tool_use("mouse_move", coordinate=list(HANDLE)),
            tool_use("left_mouse_down"),
            tool_use("mouse_move", coordinate=[400, 320]),
            tool_use("left_mouse_up"),
            [{"type": "text", "text": "Moved it."}],
        ],
        extract=[lambda c: {"status": next(x for x in c.text.splitlines() if "Dropped" in x)}],
    )
    response = status_run(embedded, sites, "Drag the red square right", "anthropic-cua")
    assert response.output == {"status": "Dropped at 400"}
    assert_anthropic_tool(fake_llm.calls[0], "computer_20251124", "computer-use-2025-11-24")


def test_anthropic_cua_older_tool_clicks_where_the_mouse_is(tmp_path, fake_llm, sites, room, loop):
    """computer_20241022 (Claude 3.5 Sonnet) clicks with no coordinate: at the cursor."""
    embedded = _with(tmp_path, fake_llm, room, loop, anthropic_cua_tool="computer_20241022")
    click_and_ask = [
        *tool_use("left_click"),
        {"type": "tool_use", "name": "computer", "input": {"action": "cursor_position"}},
    ]
    fake_llm.script = Script(
        screen=[
            tool_use("mouse_move", coordinate=list(NAME)),
            tool_use("left_click"),
            tool_use("type", text="Ada"),
            tool_use("mouse_move", coordinate=list(SAVE)),
            click_and_ask,
            [{"type": "text", "text": "Saved."}],
        ],
        extract=[status_of],
    )
    response = status_run(embedded, sites, "Save the name Ada", "anthropic-cua")
    assert response.output == {"status": "Saved: Ada"}
    assert_anthropic_tool(fake_llm.calls[0], "computer_20241022", "computer-use-2024-10-22")
    clicked, asked = fake_llm.calls[5].body["messages"][-1]["content"]
    assert clicked["type"] == asked["type"] == "tool_result"
    assert asked["content"][0] == {"type": "text", "text": f"X={SAVE[0]},Y={SAVE[1]}"}
    clicks = [a for a in embedded.store.actions(response.run_id) if a.action_type == "mouse_click"]
    assert [(c.payload["x"], c.payload["y"]) for c in clicks] == [NAME, SAVE]


# ui-tars ------------------------------------------------------------------------------


def _embedded(settings: Settings, room: BrowserRoom, loop: Any) -> Embedded:
    store = open_run_store(settings)
    artifacts = open_artifact_store(settings)
    services = RunServices(settings=settings, store=store, artifacts=artifacts, room=room)
    return Embedded(settings, store, artifacts, services, loop, store.ensure_organization("test"))


@pytest.fixture(scope="module")
def hidpi_room(loop) -> Iterator[BrowserRoom]:
    """A browser whose pages have two device pixels per CSS pixel (a HiDPI screen)."""
    room = BrowserRoom(browser_options(Settings(device_scale_factor=2)))
    yield room
    loop.run(room.close(), timeout=30)


def tars(action: str) -> str:
    return f"Thought: the next thing to do.\nAction: {action}"


def on_resized(point: tuple[int, int]) -> str:
    """The point as UI-TARS-1.5 gives it: pixels of the 1288x728 picture its processor
    makes of a 1280x720 screenshot."""
    return f"({point[0] * 1288 / 1280:.0f},{point[1] * 728 / 720:.0f})"


def test_ui_tars_on_a_hidpi_screen(tmp_path, fake_llm, sites, hidpi_room, loop):
    embedded = _embedded(make_settings(tmp_path / "home", fake_llm.url), hidpi_room, loop)
    fake_llm.script = Script(
        screen=[
            tars(f"click(start_box='{on_resized(NAME)}')"),
            tars("type(content='Ada')"),
            tars("hotkey(key='ctrl b')"),
            tars(f"left_double(start_box='{on_resized(TWICE)}')"),
            tars(f"click(start_box='<|box_start|>{on_resized(SAVE)}<|box_end|>')"),
            "I am not sure what to do",  # off the grammar: one retry, saying why
            tars(f"drag(start_box='{on_resized(HANDLE)}', end_box='{on_resized((400, 320))}')"),
            tars("finished(content='Saved it.')"),
        ],
        extract=[status_of],
    )
    response = embedded.run(
        prompt="Save the name Ada",
        url=sites.url("pointer.html"),
        engine="ui-tars",
        data_extraction_schema=STATUS_SCHEMA,
        max_steps=10,
    )
    assert response.status == "completed", response.failure_reason
    assert response.run_type == "ui_tars"
    assert "Ctrl+B pressed | Double-clicked | Saved: Ada | Dropped at 400" in extract_saw(fake_llm)
    turns = [c for c in fake_llm.calls if c.kind == "ui-tars"]
    assert len(turns) == 8  # seven turns, one of them retried
    assert turns[0].messages[0]["content"].startswith("You are a GUI agent")
    assert "TASK: Save the name Ada" in turns[0].messages[0]["content"]
    assert "has no 'Action:' line" in turns[6].messages[-1]["content"]
    # CSS pixels on the wire, whatever the device scale: the model's points map back.
    image = turns[0].messages[-1]["content"][0]["image_url"]["url"]
    assert picture(image).size == (1280, 720)
    assert max(c.images for c in turns) == 3  # the latest screenshots only
    assert_marked(embedded, response.run_id, NAME)


# skyvern-2.0 ---------------------------------------------------------------------------


def test_skyvern_2_plans_sub_goals_and_is_the_default(embedded, fake_llm, sites):
    goals = ["Type Ada into the Name field and press Save", "Report the status line"]
    fake_llm.script = Script(
        plan=[{"sub_goals": goals, "impossible": None}],
        steps=[
            lambda c: {
                "actions": [
                    {"action_type": "input_text", "id": c.id_of("Name"), "text": "Ada"},
                    {"action_type": "click", "id": c.id_of("Save")},
                ]
            },
            {"actions": [{"action_type": "complete", "data": {"typed": "Ada"}}]},
            lambda c: {"actions": [{"action_type": "complete", "data": status_of(c)}]},
        ],
    )
    response = embedded.run_request(  # no engine named: the default
        TaskRunRequest(
            prompt="Save the name Ada and tell me the status",
            url=sites.url("pointer.html"),
            data_extraction_schema=STATUS_SCHEMA,
        )
    )
    assert response.status == "completed", response.failure_reason
    assert response.run_type == "task_v2"
    assert response.run_request.engine == "skyvern-2.0"
    assert response.output == {"status": "Saved: Ada"}
    steps = [c for c in fake_llm.calls if c.kind == "step"]
    assert steps[0].text.startswith(f"TASK: {goals[0]}\n\nThis is part of the overall task")
    assert "Already done: " + goals[0] in steps[2].text
    # What an earlier sub-goal found reaches the later ones (it is gone from the page).
    assert f'Found so far:\n- {goals[0]}: {{"typed": "Ada"}}' in steps[2].text
    assert "SCHEMA" not in steps[0].text and "SCHEMA" in steps[2].text  # the last carries it
    plans = [a for a in embedded.store.actions(response.run_id) if a.action_type == "plan"]
    assert [p.payload["sub_goals"] for p in plans] == [goals]
    page = render_run_page(response, timeline(embedded.store, response.run_id), {})
    assert "<li>plan " + html.escape(" → ".join(goals)) in page
    # The plan is its own step, first on the timeline; the browser steps follow it.
    orders = [s.order for s in embedded.store.steps(response.run_id)]
    assert orders == [1, 2, 3, 4]


def test_skyvern_2_never_passes_a_secret_on_in_what_a_sub_goal_found(embedded, fake_llm, sites):
    password = "pw-found-on-the-page"
    credential_id = embedded.credential(password)
    fake_llm.script = Script(
        plan=[{"sub_goals": ["Read the field", "Report it"]}],
        steps=[
            {"actions": [{"action_type": "complete", "data": {"field": password}}]},
            {"actions": [{"action_type": "complete", "data": {"done": True}}]},
        ],
    )
    response = embedded.run(
        prompt="Read the field and report it",
        url=sites.url("pointer.html"),
        engine="skyvern-2.0",
        credential_id=credential_id,
    )
    assert response.status == "completed", response.failure_reason
    second = [c for c in fake_llm.calls if c.kind == "step"][1]
    assert '- Read the field: {"field": "••••••"}' in second.text
    assert all(password not in json.dumps(c.body) for c in fake_llm.calls)


def test_skyvern_2_replans_around_a_failed_sub_goal(embedded, fake_llm, sites):
    fake_llm.script = Script(
        plan=[
            {"sub_goals": ["Press the Missing button", "Press Save"]},
            {"sub_goals": ["Press Save"]},
        ],
        steps=[
            {"actions": [{"action_type": "terminate", "reasoning": "no Missing button here"}]},
            lambda c: {"actions": [{"action_type": "click", "id": c.id_of("Save")}]},
            lambda c: {"actions": [{"action_type": "complete", "data": status_of(c)}]},
        ],
    )
    response = embedded.run(
        prompt="Press Missing, then Save", url=sites.url("pointer.html"), engine="skyvern-2.0"
    )
    assert response.status == "completed", response.failure_reason
    assert response.output["status"].startswith("Saved:")
    replan = [c for c in fake_llm.calls if c.kind == "plan"][1]
    assert "FAILED: Press the Missing button: no Missing button here" in replan.text
    assert "Far button" in replan.text  # planned from the page as it is
    plans = [a for a in embedded.store.actions(response.run_id) if a.action_type == "plan"]
    assert [p.payload["replan"] for p in plans] == [0, 1]


def test_skyvern_2_says_when_the_plan_finds_the_task_impossible(embedded, fake_llm, sites):
    fake_llm.script = Script(plan=[{"sub_goals": [], "impossible": "this site sells no cars"}])
    response = embedded.run(prompt="Buy a car", url=sites.url("pointer.html"), engine="skyvern-2.0")
    assert response.status == "terminated"
    assert response.failure_reason == "this site sells no cars"


# The same rules on every engine --------------------------------------------------------

ENGINES = ["skyvern-1.0", "skyvern-2.0", "openai-cua", "anthropic-cua", "ui-tars"]


def keep_acting(engine: str) -> Any:
    """A reply that acts harmlessly and never finishes, in the engine's own format."""
    if engine.startswith("skyvern"):
        return {"actions": [{"action_type": "scroll", "direction": "down"}]}
    if engine == "openai-cua":
        return computer_call({"type": "scroll", "x": 600, "y": 400, "scroll_x": 0, "scroll_y": 50})
    if engine == "anthropic-cua":
        return tool_use("mouse_move", coordinate=[600, 400])
    return tars("scroll(start_box='(600,400)', direction='down')")


def finish_with(engine: str, text: str) -> Any:
    if engine.startswith("skyvern"):
        raise AssertionError("the skyvern engines answer in actions")
    if engine == "openai-cua":
        return said(text)
    if engine == "anthropic-cua":
        return [{"type": "text", "text": text}]
    return tars(f"finished(content='{text}')")


def script_for(engine: str, replies: list[Any], **kw: Any) -> Script:
    if engine.startswith("skyvern"):
        return Script(steps=replies, **kw)
    return Script(screen=replies, **kw)


@pytest.mark.parametrize("engine", ENGINES)
def test_max_steps_on_every_engine(embedded, fake_llm, sites, engine):
    fake_llm.script = script_for(engine, [keep_acting(engine)] * 2)
    response = embedded.run(
        prompt="Keep going", url=sites.url("pointer.html"), engine=engine, max_steps=2
    )
    assert response.status == "timed_out"
    assert response.failure_reason == "reached max_steps (2) before the task was done"


@pytest.mark.parametrize("engine", ENGINES)
def test_error_code_mapping_on_every_engine(embedded, fake_llm, sites, engine):
    codes = {"no_account": "the page asks to sign in"}
    if engine.startswith("skyvern"):
        reply = {"actions": [], "errors": [{"error_code": "no_account", "reasoning": "a wall"}]}
    else:
        reply = finish_with(engine, "ERROR no_account: a wall")
    fake_llm.script = script_for(engine, [reply])
    response = embedded.run(
        prompt="Read it", url=sites.url("pointer.html"), engine=engine, error_code_mapping=codes
    )
    assert response.status == "terminated"
    assert response.errors == [{"error_code": "no_account", "reasoning": "a wall"}]
    model_side = next(c for c in fake_llm.calls if c.kind not in ("plan",))
    assert "no_account" in json.dumps(model_side.body)  # the model was told the codes


@pytest.mark.parametrize("engine", ENGINES)
def test_cancel_on_every_engine(embedded, fake_llm, sites, engine):
    def cancel_then_act(call: Call) -> Any:
        run = embedded.store.list_runs(limit=1)[0]
        assert embedded.store.request_cancel(run.run_id)
        return keep_acting(engine)

    fake_llm.script = script_for(engine, [cancel_then_act])
    response = embedded.run(
        prompt="Keep going", url=sites.url("pointer.html"), engine=engine, max_steps=5
    )
    assert response.status == "canceled"


@pytest.mark.parametrize("engine", ENGINES)
def test_run_time_limit_on_every_engine(tmp_path, fake_llm, sites, room, loop, engine):
    embedded = _with(tmp_path, fake_llm, room, loop, run_timeout_seconds=0.001)
    fake_llm.script = script_for(engine, [keep_acting(engine)] * 3)
    response = embedded.run(prompt="Keep going", url=sites.url("pointer.html"), engine=engine)
    assert response.status == "timed_out"
    assert response.failure_reason == "run time limit (0.001s) reached"


@pytest.mark.parametrize("engine", ENGINES)
def test_output_off_the_schema_fails_on_every_engine(embedded, fake_llm, sites, engine):
    if engine.startswith("skyvern"):  # the answer in `complete`, then the repair round
        replies = [{"actions": [{"action_type": "complete", "data": {"status": 3}}]}]
        extract = [{"status": 4}]
    else:  # an answer in words: the extraction, then the repair round
        replies, extract = [finish_with(engine, "done")], [{"status": 3}, {"status": 4}]
    fake_llm.script = script_for(engine, replies, extract=extract)
    response = embedded.run(
        prompt="Report",
        url=sites.url("pointer.html"),
        engine=engine,
        data_extraction_schema={**STATUS_SCHEMA, "properties": {"status": {"type": "boolean"}}},
    )
    assert response.status == "failed"
    assert response.failure_reason.startswith("output does not match data_extraction_schema")


TOP_3 = [
    {"name": "Aurora Lamp", "price": 29.99, "rating": 4.5},
    {"name": "Borealis Kettle", "price": 54.0, "rating": 4.1},
    {"name": "Comet Headphones", "price": 119.5, "rating": 4.8},
]
TOP_3_SCHEMA = {
    "type": "array",
    "items": PRODUCTS_SCHEMA["properties"]["products"]["items"],
    "maxItems": 3,
}


@pytest.mark.parametrize("engine", ["openai-cua", "anthropic-cua", "ui-tars"])
def test_a_computer_use_model_answers_the_data_itself(embedded, fake_llm, sites, engine):
    """The product's own task on each screen engine: the model reads the picture and
    answers JSON (fenced, as models do), which is the output: no extraction call."""
    answer = "Here they are:\n```json\n" + json.dumps(TOP_3) + "\n```"
    if engine == "ui-tars":  # the grammar's string: the JSON on one line, quotes kept
        answer = json.dumps(TOP_3)
    fake_llm.script = script_for(engine, [keep_acting(engine), finish_with(engine, answer)])
    response = embedded.run(
        prompt="Extract the name, price and rating of the top 3 products",
        url=sites.url("products.html"),
        engine=engine,
        data_extraction_schema=TOP_3_SCHEMA,
    )
    assert response.status == "completed", response.failure_reason
    assert response.output == TOP_3
    assert "extract" not in fake_llm.kinds()
    assert response.step_count == 2


def click_at(engine: str, point: tuple[int, int]) -> Any:
    if engine == "openai-cua":
        return computer_call({"type": "click", "button": "left", "x": point[0], "y": point[1]})
    if engine == "anthropic-cua":
        return tool_use("left_click", coordinate=list(point))
    return tars(f"click(start_box='{on_resized(point)}')")


def type_text(engine: str, text: str) -> Any:
    if engine == "openai-cua":
        return computer_call({"type": "type", "text": text})
    if engine == "anthropic-cua":
        return tool_use("type", text=text)
    return tars(f"type(content='{text}')")


@pytest.mark.parametrize("engine", ["openai-cua", "anthropic-cua", "ui-tars"])
def test_an_early_answer_is_checked_and_the_model_told_to_go_on(embedded, fake_llm, sites, engine):
    """Screen models stop to ask for confirmation: an answer the page does not bear out
    is answered to the model, which carries on, as skyvern-1.0's complete is checked."""
    fake_llm.script = Script(
        screen=[
            finish_with(engine, "Shall I type the name Ada and save it?"),
            click_at(engine, NAME),
            type_text(engine, "Ada"),
            click_at(engine, SAVE),
            finish_with(engine, "Saved."),
        ],
        verify=[{"user_goal_achieved": False, "reasoning": "Nothing is saved yet."}],
        extract=[status_of],
    )
    response = status_run(embedded, sites, "Save the name Ada", engine)
    assert response.output == {"status": "Saved: Ada"}
    assert [k for k in fake_llm.kinds() if k in ("verify", "extract")] == [
        "verify",
        "verify",
        "extract",
    ]
    second_turn = [c for c in fake_llm.calls if c.kind == engine][1]
    told = "The task is not done yet: Nothing is saved yet. Carry on with it"
    assert told in json.dumps(second_turn.body)
    actions = [(a.action_type, a.status) for a in embedded.store.actions(response.run_id)]
    assert actions[0] == ("complete", "failed") and actions[-1] == ("complete", "completed")


def test_ui_tars_alone_is_taken_at_its_word(tmp_path, fake_llm, sites, room, loop):
    """With no SKYQ_LLM_MODEL the text model is the UI-TARS model itself, which answers
    in its grammar, not JSON: its answer is not sent back to it to be checked."""
    embedded = _with(tmp_path, fake_llm, room, loop, llm_model="")
    fake_llm.script = Script(
        screen=[click_at("ui-tars", NAME), finish_with("ui-tars", "Clicked the name field.")]
    )
    response = embedded.run(prompt="Click Name", url=sites.url("pointer.html"), engine="ui-tars")
    assert response.status == "completed", response.failure_reason
    assert response.output == "Clicked the name field."
    assert fake_llm.kinds() == ["ui-tars", "ui-tars"]


def test_a_secret_typed_by_a_computer_use_model_is_masked_and_never_stored(
    embedded, fake_llm, sites
):
    password = "s3cret-for-the-screen-only"
    credential_id = embedded.credential(password)
    fake_llm.script = Script(
        screen=[
            tool_use("left_click", coordinate=list(NAME)),
            tool_use("type", text="{{password}}"),
            tool_use("left_click", coordinate=list(SAVE)),
            [{"type": "text", "text": "Saved."}],
        ],
        extract=[status_of],
    )
    response = embedded.run(
        prompt="Type the password {{password}} into Name and save",
        url=sites.url("pointer.html"),
        engine="anthropic-cua",
        credential_id=credential_id,
        data_extraction_schema=STATUS_SCHEMA,
    )
    assert response.status == "completed", response.failure_reason
    # The page got the real value, which the text model saw only as a mask.
    assert response.output == {"status": "Saved: ••••••"}
    assert "{{password}}" in json.dumps(fake_llm.calls[0].body)
    for call in fake_llm.calls:
        assert password not in json.dumps(call.body)
    home = embedded.settings.home
    for path in home.rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path
    typed = next(a for a in embedded.store.actions(response.run_id) if a.action_type == "type_text")
    assert typed.payload["text"] == "{{password}}"


def test_an_action_skyq_cannot_do_is_answered_to_the_model_which_goes_on(embedded, fake_llm, sites):
    fake_llm.script = Script(
        screen=[
            tool_use("zoom", region=[0, 0, 100, 100]),
            [{"type": "text", "text": "Fine, no zoom."}],
        ]
    )
    response = embedded.run(prompt="Look", url=sites.url("pointer.html"), engine="anthropic-cua")
    assert response.status == "completed", response.failure_reason
    assert response.output == "Fine, no zoom."
    answer = fake_llm.calls[1].body["messages"][-1]["content"][0]
    assert answer["type"] == "tool_result" and answer["is_error"] is True
    assert answer["content"][0]["text"] == "anthropic-cua action 'zoom' is not supported"
    recorded = embedded.store.actions(response.run_id)[0]
    assert (recorded.action_type, recorded.status) == ("unsupported", "failed")


def test_a_verification_code_typed_by_a_computer_use_model(embedded, fake_llm, sites):
    credential_id = embedded.credential("pw-123456", TOTP_SECRET)
    fake_llm.script = Script(
        screen=[
            tool_use("left_click", coordinate=list(NAME)),
            tool_use("type", text="{{verification_code}}"),
            tool_use("left_click", coordinate=list(SAVE)),
            [{"type": "text", "text": "Entered."}],
        ],
        extract=[status_of],
    )
    response = embedded.run(
        prompt="Enter the one-time code into Name and save",
        url=sites.url("pointer.html"),
        engine="anthropic-cua",
        credential_id=credential_id,
        data_extraction_schema=STATUS_SCHEMA,
    )
    assert response.status == "completed", response.failure_reason
    assert response.output == {"status": "Saved: ••••••"}  # a code went in, masked
    assert "{{verification_code}}" in json.dumps(fake_llm.calls[0].body)  # the instruction
    totp = pyotp.TOTP(TOTP_SECRET)
    codes = {totp.at(time.time() + shift) for shift in (-60, -30, 0, 30)}
    for call in fake_llm.calls:  # (pictures left out: base64 is full of digits)
        sent = json.dumps(without_images(call.body))
        assert not any(code in sent for code in codes)
