"""Coordinate actions on a Playwright page, and the pictures they are judged by.

Playwright's mouse works in CSS pixels from the viewport's top-left corner, whatever
the device scale factor and however far the page is scrolled; the screenshots here are
taken at ``scale="css"`` of the viewport, so a point the model picked in the picture is
the point the mouse goes to.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import Page

from skyq.agent.pointer import (
    HoldKeys,
    MouseButton,
    MouseClick,
    MouseDrag,
    MouseMove,
    MouseScroll,
    Pause,
    PointerAction,
    PressKeys,
    TypeText,
)

JPEG_QUALITY = 70
_MARKER_ID = "__skyq_marker"
# Drawn over the page for one screenshot: a ring with a dot at the point, above
# everything, deaf to the mouse.
_DRAW_MARKER = """([id, x, y]) => {
  const ring = document.createElement("div");
  ring.id = id;
  ring.style.cssText = `position:fixed;left:${x - 14}px;top:${y - 14}px;width:24px;` +
    "height:24px;border:3px solid #ff1744;border-radius:50%;z-index:2147483647;" +
    "pointer-events:none;box-shadow:0 0 0 2px #fff;background:rgba(255,23,68,.25)";
  (document.body || document.documentElement).appendChild(ring);
}"""
_REMOVE_MARKER = "(id) => document.getElementById(id)?.remove()"
DRAG_STEPS = 8
_MASK_FOCUSED = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (el) el.style.webkitTextSecurity = "disc";
}"""
_SCROLL_SETTLED = """() => new Promise((done) => {
  let last = null, still = 0;
  const deadline = performance.now() + 1000;
  const look = () => {
    const now = [window.scrollX, window.scrollY].join();
    still = now === last ? still + 1 : 0;
    last = now;
    if (still >= 3 || performance.now() > deadline) done(); else requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
})"""


async def capture(page: Page) -> bytes:
    return await page.screenshot(type="jpeg", quality=JPEG_QUALITY, scale="css", caret="initial")


async def marked(page: Page, point: tuple[int, int]) -> bytes:
    """The viewport with the point marked on it (the page itself is left as it was)."""
    await page.evaluate(_DRAW_MARKER, [_MARKER_ID, point[0], point[1]])
    try:
        return await capture(page)
    finally:
        await page.evaluate(_REMOVE_MARKER, _MARKER_ID)


async def perform(page: Page, action: PointerAction) -> None:
    match action:
        case MouseClick():
            await _click(page, action)
        case MouseDrag():
            await _drag(page, action)
        case MouseMove() | MouseButton() | MouseScroll():
            await _mouse(page, action)
        case TypeText() | PressKeys() | HoldKeys():
            await _keys(page, action)
        case Pause():
            await asyncio.sleep(action.seconds)


async def _mouse(page: Page, action: MouseMove | MouseButton | MouseScroll) -> None:
    match action:
        case MouseMove():
            await page.mouse.move(action.x, action.y)
        case MouseButton():
            press = page.mouse.down if action.press == "down" else page.mouse.up
            await press(button=action.button)
        case MouseScroll():
            await page.mouse.move(action.x, action.y)
            async with _held(page, action.modifiers):
                await page.mouse.wheel(action.dx, action.dy)
            # The wheel returns before the page has scrolled; the next screenshot (and
            # the next point the model picks in it) must see the page where it stopped.
            await page.evaluate(_SCROLL_SETTLED)


async def _keys(page: Page, action: TypeText | PressKeys | HoldKeys) -> None:
    keyboard = page.keyboard
    match action:
        case TypeText():
            if action.masked:
                await page.evaluate(_MASK_FOCUSED)
            await keyboard.type(action.text)
        case PressKeys():
            await keyboard.press("+".join(action.keys))
        case HoldKeys():
            async with _held(page, action.keys):
                await asyncio.sleep(action.seconds)


@asynccontextmanager
async def _held(page: Page, keys: tuple[str, ...]) -> AsyncIterator[None]:
    for key in keys:
        await page.keyboard.down(key)
    try:
        yield
    finally:
        for key in reversed(keys):
            await page.keyboard.up(key)


async def _click(page: Page, action: MouseClick) -> None:
    async with _held(page, action.modifiers):
        await page.mouse.click(action.x, action.y, button=action.button, click_count=action.clicks)


async def _drag(page: Page, action: MouseDrag) -> None:
    start, *rest = action.path
    await page.mouse.move(*start)
    await page.mouse.down()
    for point in rest:
        await page.mouse.move(*point, steps=DRAG_STEPS)
    await page.mouse.up()
