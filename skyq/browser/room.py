"""The browser room: one Chromium per process, a fresh context per run.

Launching Chromium per run is what skyq exists to avoid (a context costs ~30 ms, a
launch ~240 ms plus the driver). Playwright objects belong to the event loop that made
them, so a room lives on one loop for its whole life. Several runs may hold contexts of
the room's browser at once (a worker on Celery's threads pool): the launch is done once
for all of them, and a browser retired for its memory is closed only when the last
run using it has closed its context.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from skyq import metrics
from skyq.browser.idle_ui import close_browser_ui
from skyq.browser.video import ensure_ffmpeg
from skyq.config import CHROMIUM_FLAGS
from skyq.egress.proxy import EgressProxy, RunRoute
from skyq.errors import BrowserError
from skyq.proxies import Proxy

CLOSE_TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 15.0
log = logging.getLogger(__name__)


@dataclass
class HeldContext:
    """A context handed out, with what it takes to give it back."""

    browser: Browser
    context: BrowserContext
    token: str | None  # the egress proxy's name for its traffic; None: straight out


@dataclass(frozen=True)
class BrowserOptions:
    executable: Path
    headless: bool = True
    viewport: tuple[int, int] = (1280, 720)
    device_scale_factor: float = 1.0
    extra_args: Sequence[str] = ()
    record_video: bool = True
    video_size: tuple[int, int] = (640, 360)


def missing_chromium_message(path: Path) -> str:
    return (
        f"Chromium not found at {path}: install it (apt-get install chromium) "
        "or set SKYQ_CHROMIUM_PATH"
    )


class BrowserRoom:
    def __init__(self, options: BrowserOptions) -> None:
        self.options = options
        self.launches = 0
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._can_record: bool | None = None
        self._launching = asyncio.Lock()
        # Open contexts per browser; a retired browser waits here for its last run.
        self._users: dict[Browser, int] = {}
        self._retired: set[Browser] = set()
        self.egress = EgressProxy()

    @property
    def can_record(self) -> bool:
        if self._can_record is None:
            self._can_record = self.options.record_video and ensure_ffmpeg()
        return self._can_record

    async def browser(self) -> Browser:
        """The process's browser, relaunched if it died since the last run."""
        async with self._launching:  # runs starting together share one launch
            return await self._live_browser()

    async def _live_browser(self) -> Browser:
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        if self._browser is not None:
            metrics.browser_gone()  # it crashed or was killed
            self._users.pop(self._browser, None)
        if not self.options.executable.exists():
            raise BrowserError(missing_chromium_message(self.options.executable))
        if self._playwright is None:
            self._playwright = await async_playwright().start()
        try:
            self._browser = await self._playwright.chromium.launch(
                executable_path=str(self.options.executable),
                headless=self.options.headless,
                args=[*CHROMIUM_FLAGS, *self.options.extra_args],
            )
        except PlaywrightError as exc:
            raise BrowserError(f"cannot launch Chromium: {_first_line(exc)}") from exc
        with contextlib.suppress(PlaywrightError):  # an optimisation, never a reason to fail
            await close_browser_ui(self._browser)
        self.launches += 1
        metrics.browser_launched()
        return self._browser

    @contextlib.asynccontextmanager
    async def run_page(
        self,
        *,
        user_agent: str | None = None,
        extra_http_headers: dict[str, str] | None = None,
        proxy: Proxy | None = None,
        egress: RunRoute | None = None,
        record_to: Path | None = None,
    ) -> AsyncIterator[Page]:
        """A run's page, alone in a fresh context. With ``egress`` every request of the
        context goes through the egress proxy under that run's policy (and on to the
        run's own proxy from there); without it, straight to ``proxy`` if given. With
        ``record_to`` (and ffmpeg) the page is recorded there as webm from the moment
        the run has it; the file is complete once this has exited."""
        held = await self.hold(
            user_agent=user_agent, extra_http_headers=extra_http_headers, proxy=proxy, egress=egress
        )
        try:
            page = await self.new_page(held)
            async with self.recording(page, record_to):
                yield page
        finally:
            await self.give_back(held)

    @contextlib.asynccontextmanager
    async def attached_page(
        self,
        websocket_url: str,
        *,
        headers: dict[str, str] | None = None,
        record_to: Path | None = None,
    ) -> AsyncIterator[Page]:
        """A new page in a caller's own Chromium (its default context, so its cookies
        and logins), reached over CDP. Only that page is closed afterwards: the caller's
        browser, its other pages and its state stay as they were."""
        if self._playwright is None:
            self._playwright = await async_playwright().start()
        try:
            browser = await self._playwright.chromium.connect_over_cdp(
                websocket_url, headers=headers, timeout=CONNECT_TIMEOUT_SECONDS * 1000
            )
        except PlaywrightError as exc:
            raise BrowserError(f"cannot attach to the browser: {_first_line(exc)}") from exc
        try:
            context = browser.contexts[0] if browser.contexts else await browser.new_context()
            try:
                page = await context.new_page()
            except PlaywrightError as exc:
                raise BrowserError(f"cannot open a page: {_first_line(exc)}") from exc
            try:
                async with self.recording(page, record_to):
                    yield page
            finally:
                with contextlib.suppress(PlaywrightError, TimeoutError):
                    await asyncio.wait_for(page.close(), CLOSE_TIMEOUT_SECONDS)
        finally:
            # On a browser reached over CDP this disconnects; it does not close it.
            with contextlib.suppress(PlaywrightError, TimeoutError):
                await asyncio.wait_for(browser.close(), CLOSE_TIMEOUT_SECONDS)

    async def new_page(self, held: HeldContext) -> Page:
        try:
            return await held.context.new_page()
        except PlaywrightError as exc:
            raise BrowserError(f"cannot open a page: {_first_line(exc)}") from exc

    @contextlib.asynccontextmanager
    async def recording(self, page: Page, path: Path | None) -> AsyncIterator[None]:
        """Record ``page`` to ``path`` (webm) meanwhile, when ffmpeg is there; the file is
        complete once this has exited. A recording that cannot start leaves the run
        unrecorded, never failed."""
        recording = bool(path and self.can_record and await self._record(page, path))
        try:
            yield
        finally:
            if recording:
                with contextlib.suppress(PlaywrightError, TimeoutError):
                    await asyncio.wait_for(page.screencast.stop(), CLOSE_TIMEOUT_SECONDS)

    async def _record(self, page: Page, path: Path) -> bool:
        width, height = self.options.video_size
        try:
            await page.screencast.start(path=path, size={"width": width, "height": height})
        except PlaywrightError:
            log.warning("recording not started", exc_info=True)
            return False
        return True

    async def hold(
        self,
        *,
        user_agent: str | None = None,
        extra_http_headers: dict[str, str] | None = None,
        proxy: Proxy | None = None,
        egress: RunRoute | None = None,
    ) -> HeldContext:
        """A fresh context of the process's browser, until ``give_back``: a run's, or a
        browser session's for as long as the session lives."""
        token = self.egress.register(egress) if egress is not None else None
        options: dict[str, Any] = {
            "user_agent": user_agent,
            "extra_http_headers": extra_http_headers,
            **await self._proxy_options(token, proxy),
        }
        try:
            held = await self._new_context(options, token)
        except PlaywrightError:
            # The browser can die between runs without Playwright having noticed yet
            # (is_connected() still says True): start a fresh one and try once more.
            await self._forget_browser(self._browser)
            try:
                held = await self._new_context(options, token)
            except PlaywrightError as exc:
                if token is not None:
                    self.egress.forget(token)
                raise BrowserError(f"cannot open a browser context: {exc}") from exc
        self._users[held.browser] = self._users.get(held.browser, 0) + 1
        return held

    async def _proxy_options(self, token: str | None, proxy: Proxy | None) -> dict[str, Any]:
        if token is not None:
            port = await self.egress.start()
            return {
                "proxy": {
                    "server": f"http://127.0.0.1:{port}",
                    "username": token,
                    "password": "skyq",
                }
            }
        return {"proxy": proxy.playwright()} if proxy is not None else {}

    async def _new_context(self, options: dict[str, Any], token: str | None) -> HeldContext:
        browser = await self.browser()
        width, height = self.options.viewport
        context = await browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=self.options.device_scale_factor,
            accept_downloads=True,
            **options,
        )
        return HeldContext(browser, context, token)

    async def give_back(self, held: HeldContext) -> None:
        # A wedged page can make close() hang; the next run must not wait on it.
        with contextlib.suppress(PlaywrightError, TimeoutError):
            await asyncio.wait_for(held.context.close(), CLOSE_TIMEOUT_SECONDS)
        if held.token is not None:
            self.egress.forget(held.token)
        await self._let_go(held.browser)

    async def _let_go(self, browser: Browser) -> None:
        left = self._users.get(browser, 1) - 1
        if left > 0:
            self._users[browser] = left
            return
        self._users.pop(browser, None)
        if browser in self._retired:
            self._retired.discard(browser)
            await self._close_browser(browser)

    async def _forget_browser(self, browser: Browser | None) -> None:
        """Stop handing ``browser`` out and close it now (runs still in it lose it)."""
        if browser is None:
            return
        if browser is self._browser:
            self._browser = None
        self._users.pop(browser, None)
        self._retired.discard(browser)
        await self._close_browser(browser)

    @staticmethod
    async def _close_browser(browser: Browser) -> None:
        with contextlib.suppress(PlaywrightError, TimeoutError):
            await asyncio.wait_for(browser.close(), CLOSE_TIMEOUT_SECONDS)
        metrics.browser_gone()

    @property
    def runs_in_browser(self) -> int:
        """Contexts open on the current browser (the runs using it now)."""
        return self._users.get(self._browser, 0) if self._browser is not None else 0

    async def retire_browser(self) -> None:
        """The next run gets a fresh browser (memory given back); the old one closes
        once the runs still in it are done, at once if there are none."""
        browser, self._browser = self._browser, None
        if browser is None:
            return
        if self._users.get(browser):
            self._retired.add(browser)
        else:
            await self._forget_browser(browser)

    async def close(self) -> None:
        for browser in dict.fromkeys([*self._retired, *self._users, self._browser]):
            await self._forget_browser(browser)
        await self.egress.close()
        if self._playwright is not None:
            with contextlib.suppress(PlaywrightError):
                await self._playwright.stop()
            self._playwright = None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
