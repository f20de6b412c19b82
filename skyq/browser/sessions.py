"""Browser sessions held by this process: a context of the room's browser kept open
between runs, so cookies, storage and the open page carry from one run to the next.

Runs of one session take turns (a lock each); a session's element ids keep counting
across its runs, since the page may still carry the ids an earlier run wrote into it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from skyq.browser.room import BrowserRoom, HeldContext
from skyq.egress.proxy import RunRoute
from skyq.errors import BrowserSessionEndedError
from skyq.proxies import Proxy

log = logging.getLogger(__name__)


@dataclass
class _Session:
    held: HeldContext
    page: Page
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_element_id: int = 1


@dataclass
class SessionPage:
    """What a run gets of a session: its page, and where its element ids go on."""

    page: Page
    session: _Session

    @property
    def first_element_id(self) -> int:
        return self.session.next_element_id

    def element_ids_used(self, next_id: int) -> None:
        self.session.next_element_id = max(self.session.next_element_id, next_id)


class BrowserSessions:
    def __init__(self, room: BrowserRoom) -> None:
        self.room = room
        self._open: dict[str, _Session] = {}

    async def open(
        self,
        browser_session_id: str,
        *,
        proxy: Proxy | None = None,
        egress: RunRoute | None = None,
        url: str | None = None,
        navigation_seconds: float = 20.0,
    ) -> None:
        held = await self.room.hold(proxy=proxy, egress=egress)
        try:
            page = await self.room.new_page(held)
        except BaseException:
            await self.room.give_back(held)
            raise
        self._open[browser_session_id] = _Session(held, page)
        if url:
            try:
                await page.goto(url, wait_until="commit", timeout=navigation_seconds * 1000)
            except PlaywrightError as exc:  # the session is open; its first run will see
                log.warning(
                    "session start page not loaded",
                    extra={"browser_session_id": browser_session_id, "error": str(exc)[:200]},
                )

    @contextlib.asynccontextmanager
    async def page(
        self, browser_session_id: str, record_to: Path | None = None
    ) -> AsyncIterator[SessionPage]:
        """The session's page for one run, after the session's previous run is done."""
        session = self._get(browser_session_id)
        async with session.lock:
            self._get(browser_session_id)  # it may have been closed while this waited
            page = _working_page(session)
            if page is None:
                page = await self.room.new_page(session.held)
            session.page = page
            async with self.room.recording(page, record_to):
                yield SessionPage(page, session)
            # The run may have moved on to a tab it opened: the next run starts there.
            session.page = _working_page(session) or session.page

    async def close(self, browser_session_id: str) -> bool:
        session = self._open.pop(browser_session_id, None)
        if session is None:
            return False
        await self.room.give_back(session.held)
        return True

    async def close_all(self) -> list[str]:
        closed = list(self._open)
        for browser_session_id in closed:
            await self.close(browser_session_id)
        return closed

    def _get(self, browser_session_id: str) -> _Session:
        session = self._open.get(browser_session_id)
        if session is None:
            raise BrowserSessionEndedError(
                f"browser session {browser_session_id} is not open in this worker "
                "(it was closed, or the worker holding it restarted)"
            )
        if not session.held.browser.is_connected():
            self._open.pop(browser_session_id, None)
            raise BrowserSessionEndedError(
                f"browser session {browser_session_id} lost its browser (it crashed)"
            )
        return session


def _working_page(session: _Session) -> Page | None:
    if not session.page.is_closed():
        return session.page
    pages = [p for p in session.held.context.pages if not p.is_closed()]
    return pages[-1] if pages else None
