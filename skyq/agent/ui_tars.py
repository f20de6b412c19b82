"""ui-tars: the UI-TARS action grammar from any OpenAI-compatible chat endpoint.

The model answers ``Thought: ...`` then ``Action: click(start_box='(x,y)')``. Its points
are either pixels of the picture as the model's processor resized it (UI-TARS-1.5, the
Qwen2.5-VL ``smart_resize``: sides rounded to multiples of 28 within a pixel budget) or
0-1000 on both axes (UI-TARS-1.0); ``coordinates`` says which. All text turns are kept
and the latest ``screenshots_kept`` screenshots, as ByteDance recommends.
"""

from __future__ import annotations

import ast
import base64
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from skyq.agent.pointer import (
    MouseClick,
    MouseDrag,
    MouseScroll,
    Pause,
    PointerAction,
    PressKeys,
    Screen,
    TypeText,
    UnknownKeyError,
    Unsupported,
    key_combo,
    scaled,
)
from skyq.agent.screen_loop import Call, CallResult, Turn, without_images
from skyq.errors import ModelReplyError
from skyq.llm.base import LLM, Message, Usage

Coordinates = Literal["absolute", "relative"]
FACTOR = 28
MIN_PIXELS = 100 * 28 * 28
MAX_PIXELS = 16384 * 28 * 28
RELATIVE_SCALE = 1000
SCROLL_PIXELS = 400
_ACTION = re.compile(r"Action:\s*(.+)", re.DOTALL)
_THOUGHT = re.compile(r"Thought:\s*(.*?)(?:\n\s*Action:|$)", re.DOTALL)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")

SYSTEM = """You are a GUI agent working in a web browser. You are given a task, your \
action history and screenshots. Perform the next action to carry out the task.

## Output format
Thought: what you see and what to do next, in one or two sentences
Action: one action from the action space

## Action space
click(start_box='(x,y)')
left_double(start_box='(x,y)')
right_single(start_box='(x,y)')
drag(start_box='(x1,y1)', end_box='(x2,y2)')
hotkey(key='ctrl c')
type(content='text') # end content with \\n to submit
scroll(start_box='(x,y)', direction='down or up or right or left')
wait() # wait 5 seconds, then look again
finished(content='the result') # the task is done; give the answer or the data
call_user() # the task cannot go on without a human

## Task
"""


def smart_resize(height: int, width: int) -> tuple[int, int]:
    """The size Qwen2.5-VL's processor gives a picture before the model sees it."""
    h = max(FACTOR, round(height / FACTOR) * FACTOR)
    w = max(FACTOR, round(width / FACTOR) * FACTOR)
    if h * w > MAX_PIXELS:
        beta = math.sqrt((height * width) / MAX_PIXELS)
        h = math.floor(height / beta / FACTOR) * FACTOR
        w = math.floor(width / beta / FACTOR) * FACTOR
    elif h * w < MIN_PIXELS:
        beta = math.sqrt(MIN_PIXELS / (height * width))
        h = math.ceil(height * beta / FACTOR) * FACTOR
        w = math.ceil(width * beta / FACTOR) * FACTOR
    return h, w


@dataclass(frozen=True)
class Parsed:
    name: str
    args: dict[str, str]
    thought: str


def parse_reply(text: str) -> list[Parsed]:
    """``Thought: ... Action: name(key='value', ...)``, one action a line: UI-TARS-1.5
    may give several, parted by blank lines, and the first non-call line ends them.
    Raises ValueError saying why the reply is off the grammar."""
    found = _ACTION.search(text)
    if not found:
        raise ValueError("the reply has no 'Action:' line")
    thought_found = _THOUGHT.search(text)
    thought = thought_found.group(1).strip() if thought_found else ""
    lines = [line.strip() for line in found.group(1).splitlines() if line.strip()]
    if not lines:
        raise ValueError("the 'Action:' line is empty")
    first, *rest = lines
    actions = [_call(first, thought)]
    for line in rest:
        try:
            actions.append(_call(line, thought))
        except ValueError:
            break
    return actions


def _call(expression: str, thought: str) -> Parsed:
    try:
        tree = ast.parse(expression, mode="eval").body
    except SyntaxError:
        raise ValueError(f"the action {expression!r} is not a call") from None
    if not isinstance(tree, ast.Call) or not isinstance(tree.func, ast.Name):
        raise ValueError(f"the action {expression!r} is not a call")
    args: dict[str, str] = {}
    for keyword in tree.keywords:
        value = keyword.value
        if keyword.arg is None or not isinstance(value, ast.Constant):
            raise ValueError(f"the action {expression!r} has an argument that is not a string")
        args[keyword.arg] = str(value.value)
    return Parsed(tree.func.id, args, thought)


class UITars:
    def __init__(
        self, llm: LLM, instruction: str, *, coordinates: Coordinates, screenshots_kept: int
    ) -> None:
        self.llm = llm
        self.model = llm.model
        self.instruction = instruction
        self.coordinates = coordinates
        self.screenshots_kept = screenshots_kept
        # (assistant text, screenshot it answered) per turn, oldest first.
        self.turns: list[tuple[str, bytes]] = []

    async def turn(
        self, screen: Screen, results: list[CallResult], note: str | None = None
    ) -> Turn:
        failures = [
            f"{r.call.action.action_type}: {r.outcome.error}" for r in results if not r.outcome.ok
        ]
        said = [f"That action failed: {'; '.join(failures)}"] if failures else []
        messages = self._messages(screen, [*said, *([note] if note else [])])
        reply = await self.llm.complete(messages, json_mode=False)
        usage = reply.usage
        try:
            parsed = parse_reply(reply.content)
        except ValueError as problem:  # the one retry, saying what was wrong
            retry = [
                *messages,
                {"role": "assistant", "content": reply.content},
                {"role": "user", "content": f"{problem}. Answer as 'Thought: ...\\nAction: ...'."},
            ]
            reply = await self.llm.complete(retry, json_mode=False)
            usage += reply.usage
            try:
                parsed = parse_reply(reply.content)
            except ValueError as second:
                raise ModelReplyError(
                    f"the ui-tars reply broke the grammar twice: {second}"
                ) from None
        self.turns.append((reply.content, screen.image))
        return self._turn(parsed, screen, usage, messages, reply.content)

    def _turn(
        self, parsed: list[Parsed], screen: Screen, usage: Usage, messages: list[Message], text: str
    ) -> Turn:
        logged = {"messages": without_images(messages)}
        response = {"content": text}
        first = parsed[0]
        if first.name == "finished":
            message = first.args.get("content", "")
            return Turn((), message, usage, logged, response)
        if first.name == "call_user":
            refused = "the model asked for a human: " + (first.thought or "no reason given")
            return Turn((), None, usage, logged, response, refused=refused)
        # The actions before an ending: the model says it again on the next screenshot.
        calls = tuple(Call(self.action_of(p, screen)) for p in parsed[: _ending(parsed)])
        return Turn(calls, None, usage, logged, response)

    def _messages(self, screen: Screen, notes: list[str]) -> list[Message]:
        messages: list[Message] = [{"role": "user", "content": SYSTEM + self.instruction}]
        pictures = [*(shot for _, shot in self.turns), screen.image]
        shown_from = max(len(pictures) - self.screenshots_kept, 0)
        for index, (text, shot) in enumerate(self.turns):
            if index >= shown_from:
                messages.append(_picture(shot))
            messages.append({"role": "assistant", "content": text})
        if notes:
            messages.append({"role": "user", "content": "\n".join(notes)})
        messages.append(_picture(screen.image))
        return messages

    def action_of(self, parsed: Parsed, screen: Screen) -> PointerAction:
        build = _BUILDERS.get(parsed.name)
        if build is None:
            return Unsupported(problem=f"ui-tars action {parsed.name!r} is not in the action space")
        try:
            centre = (screen.width // 2, screen.height // 2)
            return build(_Args(parsed.args, self._mapper(screen), centre))
        except UnknownKeyError as exc:
            return Unsupported(problem=f"ui-tars {parsed.name}: {exc}")
        except (KeyError, ValueError):
            return Unsupported(problem=f"ui-tars {parsed.name} is malformed: {parsed.args}")

    def _mapper(self, screen: Screen) -> Callable[[float, float], tuple[int, int]]:
        if self.coordinates == "relative":
            source: tuple[float, float] = (RELATIVE_SCALE, RELATIVE_SCALE)
        else:
            height, width = smart_resize(screen.height, screen.width)
            source = (width, height)
        return lambda x, y: scaled(x, y, source=source, screen=screen)


def _ending(parsed: list[Parsed]) -> int:
    names = [p.name for p in parsed]
    return next((i for i, n in enumerate(names) if n in ("finished", "call_user")), len(names))


class _Args:
    def __init__(
        self,
        args: dict[str, str],
        mapper: Callable[[float, float], tuple[int, int]],
        centre: tuple[int, int],
    ) -> None:
        self.args = args
        self.mapper = mapper
        self.centre = centre

    def at(self, key: str = "start_box") -> tuple[int, int]:
        """A point ('(x,y)', '<point>x y</point>'), or a box's centre ('(x1,y1,x2,y2)',
        '[x1, y1, x2, y2]'). Newer checkpoints name it point/start_point/end_point."""
        aliases = {"start_box": ("point", "start_point"), "end_box": ("end_point",)}
        name = next((k for k in (key, *aliases.get(key, ())) if k in self.args), key)
        numbers = [float(n) for n in _NUMBER.findall(self.args[name])]
        if len(numbers) == 4:
            numbers = [(numbers[0] + numbers[2]) / 2, (numbers[1] + numbers[3]) / 2]
        if len(numbers) != 2:
            raise ValueError(f"{key} is not a point")
        return self.mapper(numbers[0], numbers[1])

    def click(self, button: Literal["left", "right"] = "left", clicks: int = 1) -> PointerAction:
        x, y = self.at()
        return MouseClick(x=x, y=y, button=button, clicks=clicks)


def _scroll(a: _Args) -> PointerAction:
    # Some checkpoints scroll with no point: the middle of the screen.
    x, y = a.at() if {"start_box", "point", "start_point"} & a.args.keys() else a.centre
    direction = a.args.get("direction", "down").strip().lower()
    dx = {"left": -SCROLL_PIXELS, "right": SCROLL_PIXELS}.get(direction, 0)
    dy = {"up": -SCROLL_PIXELS, "down": SCROLL_PIXELS}.get(direction, 0)
    return MouseScroll(x=x, y=y, dx=dx, dy=dy)


def _type(a: _Args) -> PointerAction:
    # The model writes a newline as the two characters \n; a trailing one submits.
    return TypeText(text=a.args.get("content", "").replace("\\n", "\n"))


_BUILDERS: dict[str, Callable[[_Args], PointerAction]] = {
    "click": lambda a: a.click(),
    "left_single": lambda a: a.click(),
    "left_double": lambda a: a.click(clicks=2),
    "right_single": lambda a: a.click("right"),
    "drag": lambda a: MouseDrag(path=(a.at(), a.at("end_box"))),
    "select": lambda a: MouseDrag(path=(a.at(), a.at("end_box"))),
    "hotkey": lambda a: PressKeys(keys=key_combo(a.args["key"], "+ ")),
    "press": lambda a: PressKeys(keys=key_combo(a.args["key"], "+ ")),
    "type": _type,
    "scroll": _scroll,
    "wait": lambda a: Pause(seconds=5.0),
}


def _picture(image: bytes) -> dict[str, Any]:
    url = "data:image/jpeg;base64," + base64.b64encode(image).decode()
    return {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}
