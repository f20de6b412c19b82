"""The computer-use engines' readings of their models' replies, and the planner's."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from skyq.agent import anthropic_cua, openai_cua
from skyq.agent.planner import parse_plan
from skyq.agent.pointer import (
    CursorPosition,
    HoldKeys,
    MouseButton,
    MouseClick,
    MouseDrag,
    MouseScroll,
    PressKeys,
    Screen,
    TypeText,
    UnknownKeyError,
    Unsupported,
    cursor_after,
    key_combo,
    playwright_key,
)
from skyq.agent.prompts import TaskBrief
from skyq.agent.replies import ProtocolViolation
from skyq.agent.screen_loop import instruction
from skyq.agent.ui_tars import Parsed, UITars, parse_reply, smart_resize

SCREEN = Screen(image=b"", width=1280, height=720, url="https://example.com/")


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("ctrl", "Control"),
        ("CTRL", "Control"),
        ("Return", "Enter"),
        ("KP_Enter", "Enter"),
        ("Page_Down", "PageDown"),
        ("cmd", "Meta"),
        ("ArrowLeft", "ArrowLeft"),
        ("esc", "Escape"),
        ("F5", "F5"),
        ("a", "a"),
        ("Control_L", "Control"),
        ("Super_R", "Meta"),
        ("minus", "-"),
        ("bracketleft", "["),
        ("Caps_Lock", "CapsLock"),
    ],
)
def test_key_names_of_every_family_become_playwright_keys(name, key):
    assert playwright_key(name) == key


def test_a_letter_held_with_a_modifier_is_lower_case_and_bad_keys_are_named():
    assert key_combo("ctrl+shift+T") == ("Control", "Shift", "t")
    assert key_combo("ctrl c", "+ ") == ("Control", "c")
    assert key_combo("ctrl+plus") == ("Control", "+")
    with pytest.raises(UnknownKeyError, match="'hyper'"):
        playwright_key("hyper")


def test_openai_actions_map_onto_the_viewport():
    click = openai_cua.action_of({"type": "click", "x": 10, "y": 20, "button": "right"}, SCREEN)
    assert click == MouseClick(x=10, y=20, button="right")
    assert openai_cua.action_of({"type": "click", "x": 1, "y": 1, "button": "back"}, SCREEN) == (
        PressKeys(keys=("Alt", "ArrowLeft"))
    )
    # Points off the screen are kept on it.
    far = openai_cua.action_of({"type": "move", "x": 5000, "y": -3}, SCREEN)
    assert (far.x, far.y) == (1279, 0)
    drag = openai_cua.action_of(
        {"type": "drag", "path": [{"x": 1, "y": 2}, {"x": 3, "y": 4}, {"x": 5, "y": 6}]}, SCREEN
    )
    assert drag == MouseDrag(path=((1, 2), (3, 4), (5, 6)))
    keys = openai_cua.action_of({"type": "keypress", "keys": ["CTRL", "A"]}, SCREEN)
    assert keys == PressKeys(keys=("Control", "a"))
    sideways = openai_cua.action_of(
        {"type": "scroll", "x": 5, "y": 6, "scroll_x": 300, "scroll_y": 0, "keys": ["SHIFT"]},
        SCREEN,
    )
    assert sideways == MouseScroll(x=5, y=6, dx=300, modifiers=("Shift",))


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "teleport", "x": 1, "y": 1},
        {"type": "click"},
        {"type": "drag", "path": [{"x": 1, "y": 1}]},
        {"type": "keypress", "keys": ["HYPER"]},
    ],
)
def test_openai_actions_off_the_protocol_are_named_for_the_model(raw):
    answer = openai_cua.action_of(raw, SCREEN)
    assert isinstance(answer, Unsupported) and answer.problem.startswith("openai-cua")


def test_anthropic_actions_map_onto_the_viewport():
    scroll = anthropic_cua.action_of(
        {"action": "scroll", "coordinate": [5, 6], "scroll_direction": "up", "scroll_amount": 2},
        SCREEN,
    )
    assert scroll == MouseScroll(x=5, y=6, dx=0, dy=-200)
    drag = anthropic_cua.action_of(
        {"action": "left_click_drag", "start_coordinate": [1, 2], "coordinate": [30, 40]}, SCREEN
    )
    assert drag == MouseDrag(path=((1, 2), (30, 40)))
    held = anthropic_cua.action_of(
        {"action": "left_click", "coordinate": [7, 8], "text": "shift"}, SCREEN
    )
    assert held == MouseClick(x=7, y=8, modifiers=("Shift",))
    assert anthropic_cua.action_of({"action": "type", "text": "hi"}, SCREEN) == TypeText(text="hi")
    assert anthropic_cua.action_of({"action": "left_mouse_down"}, SCREEN) == MouseButton(
        press="down"
    )
    hold = anthropic_cua.action_of({"action": "hold_key", "text": "shift", "duration": 2}, SCREEN)
    assert hold == HoldKeys(keys=("Shift",), seconds=2)
    zoom = anthropic_cua.action_of({"action": "zoom", "region": [0, 0, 10, 10]}, SCREEN)
    assert zoom == Unsupported(problem="anthropic-cua action 'zoom' is not supported")
    malformed = anthropic_cua.action_of({"action": "mouse_move"}, SCREEN)
    assert isinstance(malformed, Unsupported) and "malformed" in malformed.problem
    sideways = anthropic_cua.action_of(
        {"action": "scroll", "coordinate": [5, 6], "scroll_direction": "sideways"}, SCREEN
    )
    assert isinstance(sideways, Unsupported) and "malformed" in sideways.problem


def test_anthropic_actions_without_a_point_land_where_the_mouse_is():
    cursor = (300, 200)
    click = anthropic_cua.action_of({"action": "double_click"}, SCREEN, cursor)
    assert click == MouseClick(x=300, y=200, clicks=2)
    drag = anthropic_cua.action_of(
        {"action": "left_click_drag", "coordinate": [9, 9]}, SCREEN, cursor
    )
    assert drag == MouseDrag(path=((300, 200), (9, 9)))  # computer_20241022's drag
    scroll = anthropic_cua.action_of(
        {"action": "scroll", "scroll_direction": "right", "scroll_amount": 1, "text": "shift"},
        SCREEN,
        cursor,
    )
    assert scroll == MouseScroll(x=300, y=200, dx=100, modifiers=("Shift",))
    assert anthropic_cua.action_of({"action": "cursor_position"}, SCREEN, cursor) == (
        CursorPosition(x=300, y=200)
    )
    assert cursor_after(drag, cursor) == (9, 9)
    assert cursor_after(TypeText(text="x"), cursor) == cursor


def test_smart_resize_is_qwen_s():
    assert smart_resize(720, 1280) == (728, 1288)
    assert smart_resize(1080, 1920) == (1092, 1932)
    height, width = smart_resize(4000, 8000)  # over the pixel budget: scaled down
    assert height * width <= 16384 * 28 * 28 and height % 28 == 0 and width % 28 == 0


@pytest.mark.parametrize(
    ("text", "name", "args"),
    [
        ("Thought: go\nAction: click(start_box='(10,20)')", "click", {"start_box": "(10,20)"}),
        ("Action: type(content='a\\nb')", "type", {"content": "a\nb"}),
        ("Thought: x\nAction: finished(content='done')\n", "finished", {"content": "done"}),
        ("Action: wait()", "wait", {}),
    ],
)
def test_ui_tars_replies_are_read(text, name, args):
    [parsed] = parse_reply(text)
    assert (parsed.name, parsed.args) == (name, args)


def test_ui_tars_several_actions_in_one_reply():
    text = (
        "Thought: fill it in\nAction: click(point='<point>10 20</point>')\n\n"
        "type(content='Ada\\n')\n\nThat should do it."
    )
    assert [(p.name, p.args) for p in parse_reply(text)] == [
        ("click", {"point": "<point>10 20</point>"}),
        ("type", {"content": "Ada\n"}),
    ]
    tars = _tars("relative")
    turn = tars._turn(parse_reply(text), SCREEN, None, [], text)
    assert [c.action.action_type for c in turn.calls] == ["mouse_click", "type_text"]
    # Actions before an ending are done; the model ends on the next screenshot.
    then_done = "Action: hotkey(key='enter')\n\nfinished(content='x')"
    turn = tars._turn(parse_reply(then_done), SCREEN, None, [], then_done)
    assert [c.action.action_type for c in turn.calls] == ["press_keys"]
    scroll = tars.action_of(Parsed("scroll", {"direction": "up"}, ""), SCREEN)
    assert scroll == MouseScroll(x=640, y=360, dy=-400)  # no point: the screen's middle


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("I would click the button", "no 'Action:' line"),
        ("Action: click(start_box=", "is not a call"),
        ("Action: click(start_box=x)", "not a string"),
    ],
)
def test_ui_tars_replies_off_the_grammar_say_why(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_reply(text)


def _tars(coordinates):
    model = SimpleNamespace(model="ui-tars")  # only its name is read here
    return UITars(model, "", coordinates=coordinates, screenshots_kept=3)  # type: ignore[arg-type]


def test_ui_tars_points_are_scaled_from_the_model_s_picture():
    absolute = _tars("absolute").action_of(Parsed("click", {"start_box": "(644,364)"}, ""), SCREEN)
    assert (absolute.x, absolute.y) == (640, 360)  # the centre of 1288x728 is the centre
    relative = _tars("relative").action_of(Parsed("click", {"start_box": "(500,500)"}, ""), SCREEN)
    assert (relative.x, relative.y) == (640, 360)
    box = _tars("relative").action_of(
        Parsed("click", {"start_box": "[100, 100, 300, 300]"}, ""), SCREEN
    )
    assert (box.x, box.y) == (256, 144)  # a box is taken at its centre
    point = _tars("relative").action_of(
        Parsed("click", {"point": "<point>250 750</point>"}, ""), SCREEN
    )
    assert (point.x, point.y) == (320, 540)  # the newer checkpoints' spelling
    fly = _tars("relative").action_of(Parsed("fly", {}, ""), SCREEN)
    assert fly == Unsupported(problem="ui-tars action 'fly' is not in the action space")


def test_the_instruction_names_the_ways_to_end():
    words = instruction(
        TaskBrief("Find the price", {"type": "object"}, {"sold_out": "the item is sold out"})
    )
    assert words.startswith("TASK: Find the price")
    assert "TERMINATE:" in words and "ERROR <code>: <reason>" in words
    assert "- sold_out: the item is sold out" in words


def test_plans_off_the_protocol_are_refused():
    assert parse_plan('{"sub_goals": ["a", " b "]}').sub_goals == ["a", "b"]
    assert parse_plan('{"sub_goals": [], "impossible": "no"}').impossible == "no"
    with pytest.raises(ProtocolViolation, match="no sub-goals"):
        parse_plan('{"sub_goals": []}')
    with pytest.raises(ProtocolViolation, match="at most"):
        parse_plan('{"sub_goals": ' + str([str(i) for i in range(20)]).replace("'", '"') + "}")
