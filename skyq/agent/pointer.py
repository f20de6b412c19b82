"""Actions at screen coordinates, as the computer-use engines ask for them.

Coordinates are CSS pixels of the viewport, the space the engines' screenshots are
taken in (``Screen``); each engine maps its own model's space into it first. Key names
are normalised here once, from the xdotool, OpenAI and UI-TARS spellings to
Playwright's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Pointer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reasoning: str | None = None

    @property
    def element_id(self) -> None:
        return None

    @property
    def point(self) -> tuple[int, int] | None:
        """Where the action lands, for the marked screenshot."""
        return None


class MouseClick(_Pointer):
    action_type: Literal["mouse_click"] = "mouse_click"
    x: int
    y: int
    button: Literal["left", "right", "middle"] = "left"
    clicks: int = Field(1, ge=1, le=3)
    # Keys held during the click (Anthropic's ``text`` on a click, OpenAI's ``keys``).
    modifiers: tuple[str, ...] = ()

    @property
    def point(self) -> tuple[int, int]:
        return self.x, self.y


class MouseMove(_Pointer):
    action_type: Literal["mouse_move"] = "mouse_move"
    x: int
    y: int

    @property
    def point(self) -> tuple[int, int]:
        return self.x, self.y


class MouseDrag(_Pointer):
    action_type: Literal["mouse_drag"] = "mouse_drag"
    path: tuple[tuple[int, int], ...] = Field(min_length=2)

    @property
    def point(self) -> tuple[int, int]:
        return self.path[0]


class MouseButton(_Pointer):
    """A button pressed or let go where the mouse is (a drag done in parts)."""

    action_type: Literal["mouse_button"] = "mouse_button"
    press: Literal["down", "up"]
    button: Literal["left", "right", "middle"] = "left"


class MouseScroll(_Pointer):
    action_type: Literal["mouse_scroll"] = "mouse_scroll"
    x: int
    y: int
    dx: int = 0
    dy: int = 0
    modifiers: tuple[str, ...] = ()

    @property
    def point(self) -> tuple[int, int]:
        return self.x, self.y


class TypeText(_Pointer):
    action_type: Literal["type_text"] = "type_text"
    text: str
    # A secret or a code: the focused field is masked before it goes in, so no
    # screenshot or frame of the recording shows it.
    masked: bool = False


class PressKeys(_Pointer):
    action_type: Literal["press_keys"] = "press_keys"
    keys: tuple[str, ...] = Field(min_length=1, description="Pressed together, in order.")


class HoldKeys(_Pointer):
    action_type: Literal["hold_keys"] = "hold_keys"
    keys: tuple[str, ...] = Field(min_length=1)
    seconds: float = Field(1.0, gt=0, le=30)


class Pause(_Pointer):
    action_type: Literal["pause"] = "pause"
    seconds: float = Field(1.0, gt=0, le=30)


class CursorPosition(_Pointer):
    """Where the mouse is, asked for by the model: answered from what the engine has
    sent the mouse to, without touching the page."""

    action_type: Literal["cursor_position"] = "cursor_position"
    x: int
    y: int


class Unsupported(_Pointer):
    """An action the model asked for that skyq cannot carry out (or could not read):
    recorded, not performed, and answered to the model as a failure so that it can try
    another way."""

    action_type: Literal["unsupported"] = "unsupported"
    problem: str


PointerAction = (
    MouseClick
    | MouseMove
    | MouseDrag
    | MouseButton
    | MouseScroll
    | TypeText
    | PressKeys
    | HoldKeys
    | Pause
    | CursorPosition
    | Unsupported
)


@dataclass(frozen=True)
class Screen:
    """The viewport as the model sees it: a JPEG in CSS pixels."""

    image: bytes
    width: int
    height: int
    url: str


def cursor_after(action: PointerAction, before: tuple[int, int]) -> tuple[int, int]:
    """Where the mouse is once ``action`` is done."""
    if isinstance(action, MouseDrag):
        return action.path[-1]
    if isinstance(action, MouseClick | MouseMove | MouseScroll):
        return action.x, action.y
    return before


def scaled(x: float, y: float, *, source: tuple[float, float], screen: Screen) -> tuple[int, int]:
    """A point in a picture of size ``source`` mapped onto the viewport, kept inside it."""
    sx = round(x * screen.width / source[0])
    sy = round(y * screen.height / source[1])
    return min(max(sx, 0), screen.width - 1), min(max(sy, 0), screen.height - 1)


_KEY_NAMES = {
    "ctrl": "Control",
    "control": "Control",
    "cmd": "Meta",
    "command": "Meta",
    "meta": "Meta",
    "super": "Meta",
    "win": "Meta",
    "alt": "Alt",
    "option": "Alt",
    "shift": "Shift",
    "enter": "Enter",
    "return": "Enter",
    "kp_enter": "Enter",
    "esc": "Escape",
    "escape": "Escape",
    "tab": "Tab",
    "space": "Space",
    "backspace": "Backspace",
    "delete": "Delete",
    "del": "Delete",
    "insert": "Insert",
    "home": "Home",
    "end": "End",
    "pageup": "PageUp",
    "page_up": "PageUp",
    "prior": "PageUp",
    "pagedown": "PageDown",
    "page_down": "PageDown",
    "next": "PageDown",
    "up": "ArrowUp",
    "arrowup": "ArrowUp",
    "down": "ArrowDown",
    "arrowdown": "ArrowDown",
    "left": "ArrowLeft",
    "arrowleft": "ArrowLeft",
    "right": "ArrowRight",
    "arrowright": "ArrowRight",
    "caps_lock": "CapsLock",
    "capslock": "CapsLock",
    # xdotool's names for the punctuation keys (Anthropic's model writes "ctrl+minus").
    "minus": "-",
    "plus": "+",
    "equal": "=",
    "comma": ",",
    "period": ".",
    "slash": "/",
    "backslash": "\\",
    "semicolon": ";",
    "apostrophe": "'",
    "grave": "`",
    "bracketleft": "[",
    "bracketright": "]",
}
# xdotool names the left and right keys apart ("Control_L"); Playwright does not.
_SIDE = ("_l", "_r")


class UnknownKeyError(ValueError):
    """A key name no keyboard has; the message names it."""


def playwright_key(name: str) -> str:
    """One key in Playwright's spelling: "ctrl" -> "Control", "Return" -> "Enter",
    "a" -> "a", "F5" -> "F5"."""
    cleaned = name.strip()
    if not cleaned:
        raise UnknownKeyError("an empty key name")
    lowered = cleaned.lower()
    if lowered.endswith(_SIDE) and lowered[:-2] in _KEY_NAMES:
        lowered = lowered[:-2]
    known = _KEY_NAMES.get(lowered)
    if known:
        return known
    if len(cleaned) == 1:
        return cleaned
    if cleaned[0] in "fF" and cleaned[1:].isdigit() and 1 <= int(cleaned[1:]) <= 24:
        return "F" + cleaned[1:]
    raise UnknownKeyError(f"unknown key {name!r}")


def chord(names: Iterable[str]) -> tuple[str, ...]:
    """Keys pressed together, in Playwright's spelling. A letter held with modifiers is
    lower case: Playwright reads "Control+B" as Control+Shift+b."""
    keys = tuple(playwright_key(str(name)) for name in names)
    if len(keys) > 1:
        keys = tuple(k.lower() if len(k) == 1 else k for k in keys)
    return keys


def key_combo(text: str, separators: str = "+") -> tuple[str, ...]:
    """ "ctrl+shift+t" (xdotool) or "ctrl c" (UI-TARS) as Playwright keys."""
    for sep in separators:
        text = text.replace(sep, " ")
    return chord(text.split())
