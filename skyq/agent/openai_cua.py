"""openai-cua: OpenAI's computer-use tool over the Responses API.

The conversation lives on OpenAI's side (``previous_response_id``): each turn sends
only the outputs of the last turn's ``computer_call`` items, each a screenshot of the
page after it. Coordinates are in the declared display size, which is the viewport.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, Literal

from skyq.agent.pointer import (
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
    chord,
    scaled,
)
from skyq.agent.screen_loop import Call, CallResult, Turn, without_images
from skyq.llm.base import ToolLLM

PREVIEW_TOOL = "computer_use_preview"
_BUTTONS: dict[str, Literal["left", "right", "middle"]] = {
    "left": "left",
    "right": "right",
    "wheel": "middle",
    "middle": "middle",
}


class OpenAIComputerUse:
    def __init__(
        self,
        llm: ToolLLM,
        instruction: str,
        *,
        acknowledge_safety_checks: bool,
        tool: str = PREVIEW_TOOL,
    ) -> None:
        self.llm = llm
        self.model = llm.model
        self.instruction = instruction
        self.acknowledge = acknowledge_safety_checks
        self.tool = tool
        self._previous: str | None = None
        self._pending_checks: dict[str, list[dict[str, Any]]] = {}

    async def turn(
        self, screen: Screen, results: list[CallResult], note: str | None = None
    ) -> Turn:
        request: dict[str, Any] = {
            "input": self._input(screen, results, note),
            "tools": [self._tool(screen)],
            "truncation": "auto",
        }
        if self._previous:
            request["previous_response_id"] = self._previous
        reply = await self.llm.respond(request)
        body = reply.body
        self._previous = str(body.get("id") or "") or None
        calls, refused = self._calls(body.get("output") or [], screen)
        return Turn(
            calls=calls,
            message=_message(body.get("output") or []),
            usage=reply.usage,
            request=without_images(request),
            response=body,
            refused=refused,
        )

    def _tool(self, screen: Screen) -> dict[str, Any]:
        if self.tool != PREVIEW_TOOL:
            # The GA tool declares no display: the model points in the screenshot's
            # pixels, which are the viewport's.
            return {"type": self.tool}
        return {
            "type": PREVIEW_TOOL,
            "display_width": screen.width,
            "display_height": screen.height,
            "environment": "browser",
        }

    def _input(
        self, screen: Screen, results: list[CallResult], note: str | None
    ) -> list[dict[str, Any]]:
        image = "data:image/jpeg;base64," + base64.b64encode(screen.image).decode()
        if self._previous is None:
            return [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": self.instruction},
                        {"type": "input_image", "image_url": image},
                    ],
                }
            ]
        items: list[dict[str, Any]] = []
        failures = []
        answered: set[str | None] = set()
        for result in results:
            call_id = result.call.call_id
            if not result.outcome.ok:
                failures.append(f"{result.call.action.action_type}: {result.outcome.error}")
            if call_id in answered:  # one output per call, however many actions it held
                continue
            answered.add(call_id)
            item: dict[str, Any] = {
                "type": "computer_call_output",
                "call_id": call_id,
                "output": {"type": "computer_screenshot", "image_url": image},
                "current_url": screen.url,
            }
            acknowledged = self._pending_checks.pop(call_id or "", [])
            if acknowledged:
                item["acknowledged_safety_checks"] = acknowledged
            items.append(item)
        if failures:
            failed = "These actions failed: " + "; ".join(failures)
            items.append({"role": "user", "content": [{"type": "input_text", "text": failed}]})
        if note:  # an answer not accepted: no call is owed, so the picture comes with it
            items.append(
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": note},
                        {"type": "input_image", "image_url": image},
                    ],
                }
            )
        return items

    def _calls(
        self, output: list[dict[str, Any]], screen: Screen
    ) -> tuple[tuple[Call, ...], str | None]:
        calls = []
        for item in output:
            if item.get("type") != "computer_call":
                continue
            checks = list(item.get("pending_safety_checks") or [])
            call_id = str(item.get("call_id") or "")
            if checks and not self.acknowledge:
                named = "; ".join(f"{c.get('code')}: {c.get('message')}" for c in checks)
                return (), (
                    f"openai-cua safety check refused ({named}); "
                    "set SKYQ_CUA_ACKNOWLEDGE_SAFETY_CHECKS=true to acknowledge such checks"
                )
            if checks:
                self._pending_checks[call_id] = checks
            # One action per call, or (the GA tool) several under one call_id.
            for raw in item.get("actions") or [item.get("action") or {}]:
                calls.append(Call(action_of(raw, screen), call_id))
        return tuple(calls), None


def action_of(raw: dict[str, Any], screen: Screen) -> PointerAction:
    """One ``computer_call`` action as a pointer action on the viewport."""
    kind = str(raw.get("type"))
    build = _BUILDERS.get(kind)
    if build is None:
        return Unsupported(problem=f"openai-cua action type {kind!r} is not known")
    try:
        return build(_Raw(raw, screen))
    except UnknownKeyError as exc:
        return Unsupported(problem=f"openai-cua {kind} action: {exc}")
    except (KeyError, TypeError, ValueError):  # no x/y, a one-point drag, no keys
        return Unsupported(problem=f"openai-cua {kind} action is malformed: {raw}")


class _Raw:
    def __init__(self, raw: dict[str, Any], screen: Screen) -> None:
        self.raw = raw
        self.screen = screen

    def at(self, point: dict[str, Any] | None = None) -> tuple[int, int]:
        source = self.raw if point is None else point
        size = (self.screen.width, self.screen.height)
        return scaled(float(source["x"]), float(source["y"]), source=size, screen=self.screen)

    def keys(self) -> tuple[str, ...]:
        return chord(self.raw.get("keys") or [])


def _click(r: _Raw) -> PointerAction:
    button = str(r.raw.get("button") or "left")
    if button in ("back", "forward"):
        return PressKeys(keys=("Alt", "ArrowLeft" if button == "back" else "ArrowRight"))
    x, y = r.at()
    return MouseClick(x=x, y=y, button=_BUTTONS.get(button, "left"), modifiers=r.keys())


def _scroll(r: _Raw) -> PointerAction:
    x, y = r.at()
    dx, dy = int(r.raw.get("scroll_x") or 0), int(r.raw.get("scroll_y") or 0)
    return MouseScroll(x=x, y=y, dx=dx, dy=dy, modifiers=r.keys())


_BUILDERS: dict[str, Callable[[_Raw], PointerAction]] = {
    "click": _click,
    "double_click": lambda r: MouseClick(x=r.at()[0], y=r.at()[1], clicks=2),
    "move": lambda r: MouseMove(x=r.at()[0], y=r.at()[1]),
    "drag": lambda r: MouseDrag(path=tuple(r.at(p) for p in r.raw.get("path") or [])),
    "scroll": _scroll,
    "type": lambda r: TypeText(text=str(r.raw.get("text") or "")),
    "keypress": lambda r: PressKeys(keys=r.keys()),
    "wait": lambda r: Pause(seconds=1.0),
    # The next turn carries a fresh screenshot anyway.
    "screenshot": lambda r: Pause(seconds=0.1),
}


def _message(output: list[dict[str, Any]]) -> str | None:
    texts = [
        part.get("text") or ""
        for item in output
        if item.get("type") == "message"
        for part in item.get("content") or []
        if part.get("type") in ("output_text", "text")
    ]
    return "\n".join(t for t in texts if t) or None
