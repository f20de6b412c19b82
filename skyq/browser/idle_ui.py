"""Closes the browser-UI pages headless Chromium opens for every window.

Chromium 15x opens the address bar's suggestion popup (chrome://omnibox-popup.top-chrome)
as a hidden WebUI page with each window, headless too, and that page keeps a renderer
busy: about a fifth of a core per open context on this machine, measured while the
run's own page sat idle (bench/, issue 7). Nothing headless ever shows it. A feature
flag would do the same, but Chromium honours only the last --disable-features switch
and Playwright passes its own list, which ours would replace.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from playwright.async_api import Browser, CDPSession
from playwright.async_api import Error as PlaywrightError


async def close_browser_ui(browser: Browser) -> None:
    """From now on, close each browser-UI target of ``browser`` as it shows up. A
    target closed as it is created comes partly back while it loads, so it is closed
    again on each change of its state (a few times per window)."""
    session = await browser.new_browser_cdp_session()
    pending: set[asyncio.Task[Any]] = set()

    def seen(event: dict[str, Any]) -> None:
        info = event.get("targetInfo") or {}
        if info.get("type") != "browser_ui":
            return
        task = asyncio.ensure_future(_close(session, str(info["targetId"])))
        pending.add(task)
        task.add_done_callback(pending.discard)

    session.on("Target.targetCreated", seen)
    session.on("Target.targetInfoChanged", seen)
    await session.send("Target.setDiscoverTargets", {"discover": True})


async def _close(session: CDPSession, target_id: str) -> None:
    with contextlib.suppress(PlaywrightError):
        await session.send("Target.closeTarget", {"targetId": target_id})
