"""anthropic-cua: Anthropic's computer-use tool over the Messages API.

The conversation is kept here and resent each turn: the model's ``tool_use`` blocks
are answered with ``tool_result`` blocks, the last of them carrying the screenshot.
Only the latest ``screenshots_kept`` screenshots are resent; older ones stand as text,
which bounds a turn's tokens however long the run (Anthropic's own reference loop
does the same). Coordinates are in the declared display size, which is the viewport.
The tool keeps a cursor: a click or scroll without a coordinate lands where the mouse
is, and ``cursor_position`` is answered from it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, Literal

from skyq.agent.pointer import (
    CursorPosition,
    HoldKeys,
    MouseButton,
    MouseClick,
    MouseDrag,
    MouseMove,
    MouseScroll,
    Pause,
    PointerAction,
    PressKeys,
    Screen,
    TypeText,
    UnknownKeyError,
    Unsupported,
    cursor_after,
    key_combo,
    scaled,
)
from skyq.agent.screen_loop import Call, CallResult, Turn, without_images
from skyq.llm.base import ToolLLM

TOOL_NAME = "computer"
SCROLL_STEP_PIXELS = 100
_REMOVED = "[an earlier screenshot, no longer shown]"


class AnthropicComputerUse:
    def __init__(
        self,
        llm: ToolLLM,
        instruction: str,
        *,
        tool: str,
        max_tokens: int,
        screenshots_kept: int,
    ) -> None:
        self.llm = llm
        self.tool = tool
        self.model = llm.model
        self.instruction = instruction
        self.max_tokens = max_tokens
        self.screenshots_kept = screenshots_kept
        self.messages: list[dict[str, Any]] = []
        # Playwright's mouse starts at the viewport's corner.
        self.cursor: tuple[int, int] = (0, 0)

    async def turn(
        self, screen: Screen, results: list[CallResult], note: str | None = None
    ) -> Turn:
        self.messages.append(self._user_turn(screen, results, note))
        _forget_old_screenshots(self.messages, self.screenshots_kept)
        request: dict[str, Any] = {
            "max_tokens": self.max_tokens,
            "messages": self.messages,
            "tools": [
                {
                    "type": self.tool,
                    "name": TOOL_NAME,
                    "display_width_px": screen.width,
                    "display_height_px": screen.height,
                }
            ],
        }
        reply = await self.llm.messages(request)
        body = reply.body
        content = list(body.get("content") or [])
        self.messages.append({"role": "assistant", "content": content})
        calls = []
        for block in content:
            if block.get("type") != "tool_use":
                continue
            action = action_of(block.get("input") or {}, screen, self.cursor)
            self.cursor = cursor_after(action, self.cursor)
            calls.append(Call(action, str(block.get("id"))))
        texts = [b.get("text") or "" for b in content if b.get("type") == "text"]
        return Turn(
            calls=tuple(calls),
            message="\n".join(t for t in texts if t) or None,
            usage=reply.usage,
            request=without_images(request),
            response=body,
        )

    def _user_turn(
        self, screen: Screen, results: list[CallResult], note: str | None
    ) -> dict[str, Any]:
        image = {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": "image/jpeg",
                "data": base64.b64encode(screen.image).decode(),
            },
        }
        if not self.messages:
            return {"role": "user", "content": [{"type": "text", "text": self.instruction}, image]}
        if not results:  # the model answered without a tool_use: nothing is owed
            return {"role": "user", "content": [{"type": "text", "text": note or "Go on."}, image]}
        blocks: list[dict[str, Any]] = []
        for index, result in enumerate(results):
            outcome = result.outcome
            parts: list[dict[str, Any]] = []
            if not outcome.ok:
                parts.append({"type": "text", "text": outcome.error or "the action failed"})
            elif outcome.detail:
                parts.append({"type": "text", "text": outcome.detail})
            if index == len(results) - 1:
                parts.append(image)
            blocks.append(
                {
                    "type": "tool_result",
                    "tool_use_id": result.call.call_id,
                    "content": parts or [{"type": "text", "text": "done"}],
                    "is_error": not outcome.ok,
                }
            )
        return {"role": "user", "content": blocks}


def _forget_old_screenshots(messages: list[dict[str, Any]], keep: int) -> None:
    """Replace all but the latest ``keep`` images with a line of text, in place."""
    images: list[dict[str, Any]] = []
    for message in messages:
        if message["role"] != "user":
            continue
        for block in message["content"]:
            inner = block.get("content") if block.get("type") == "tool_result" else [block]
            images.extend(part for part in inner if part.get("type") == "image")
    for part in images[: max(len(images) - keep, 0)]:
        part.clear()
        part.update({"type": "text", "text": _REMOVED})


def action_of(
    raw: dict[str, Any], screen: Screen, cursor: tuple[int, int] = (0, 0)
) -> PointerAction:
    """One ``tool_use`` input as a pointer action on the viewport; ``cursor`` is where
    the mouse is, for the actions that may leave out their coordinate."""
    kind = str(raw.get("action"))
    build = _BUILDERS.get(kind)
    if build is None:
        return Unsupported(problem=f"anthropic-cua action {kind!r} is not supported")
    try:
        return build(_Raw(raw, screen, cursor))
    except UnknownKeyError as exc:
        return Unsupported(problem=f"anthropic-cua {kind}: {exc}")
    except (KeyError, TypeError, ValueError, IndexError):
        return Unsupported(problem=f"anthropic-cua {kind} is malformed: {raw}")


class _Raw:
    def __init__(self, raw: dict[str, Any], screen: Screen, cursor: tuple[int, int]) -> None:
        self.raw = raw
        self.screen = screen
        self.cursor = cursor

    def at(self, key: str = "coordinate") -> tuple[int, int]:
        x, y = self.raw[key]
        size = (self.screen.width, self.screen.height)
        return scaled(float(x), float(y), source=size, screen=self.screen)

    def at_or_cursor(self, key: str = "coordinate") -> tuple[int, int]:
        """Clicks, scrolls and a drag's start may leave out the point: the mouse's."""
        return self.at(key) if self.raw.get(key) is not None else self.cursor

    def held(self) -> tuple[str, ...]:
        """Keys held during a click or scroll (``text``: "shift", "ctrl+alt")."""
        return key_combo(str(self.raw["text"])) if self.raw.get("text") else ()

    def click(
        self, button: Literal["left", "right", "middle"] = "left", clicks: int = 1
    ) -> PointerAction:
        x, y = self.at_or_cursor()
        return MouseClick(x=x, y=y, button=button, clicks=clicks, modifiers=self.held())


def _scroll(r: _Raw) -> PointerAction:
    x, y = r.at_or_cursor()
    amount = int(r.raw.get("scroll_amount") or 3) * SCROLL_STEP_PIXELS
    direction = str(r.raw.get("scroll_direction") or "down")
    if direction not in ("up", "down", "left", "right"):
        raise ValueError(direction)
    dx = {"left": -amount, "right": amount}.get(direction, 0)
    dy = {"up": -amount, "down": amount}.get(direction, 0)
    return MouseScroll(x=x, y=y, dx=dx, dy=dy, modifiers=r.held())


def _wait(r: _Raw) -> PointerAction:
    return Pause(seconds=min(max(float(r.raw.get("duration") or 1.0), 0.1), 30.0))


_BUILDERS: dict[str, Callable[[_Raw], PointerAction]] = {
    "left_click": lambda r: r.click(),
    "right_click": lambda r: r.click("right"),
    "middle_click": lambda r: r.click("middle"),
    "double_click": lambda r: r.click(clicks=2),
    "triple_click": lambda r: r.click(clicks=3),
    "mouse_move": lambda r: MouseMove(x=r.at()[0], y=r.at()[1]),
    # computer_20241022 drags from where the mouse is; 20250124 names the start.
    "left_click_drag": lambda r: MouseDrag(path=(r.at_or_cursor("start_coordinate"), r.at())),
    "scroll": _scroll,
    "type": lambda r: TypeText(text=str(r.raw["text"])),
    "key": lambda r: PressKeys(keys=key_combo(str(r.raw["text"]))),
    "left_mouse_down": lambda r: MouseButton(press="down"),
    "left_mouse_up": lambda r: MouseButton(press="up"),
    "hold_key": lambda r: HoldKeys(
        keys=key_combo(str(r.raw["text"])),
        seconds=min(max(float(r.raw.get("duration") or 1.0), 0.1), 30.0),
    ),
    "wait": _wait,
    "cursor_position": lambda r: CursorPosition(x=r.cursor[0], y=r.cursor[1]),
    # The next turn carries a fresh screenshot anyway.
    "screenshot": lambda r: Pause(seconds=0.1),
}
