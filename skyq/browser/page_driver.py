"""PlaywrightPage: the agent's PageDriver on a real Chromium page."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
import re
import time
from base64 import b64decode
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from playwright.async_api import CDPSession, Download, FilePayload, Frame, Locator, Page
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from skyq.agent.actions import (
    AgentAction,
    ClickAction,
    GotoAction,
    InputTextAction,
    KeypressAction,
    ScrollAction,
    SelectOptionAction,
    WaitAction,
)
from skyq.agent.page import ActionOutcome, FileData, Observation, PageNode
from skyq.agent.pointer import PointerAction, Screen
from skyq.browser import pointer
from skyq.browser.targets import describe
from skyq.egress.proxy import BLOCKED_HEADER
from skyq.errors import BrowserError, NavigationError
from skyq.schemas.checks import check_http_url

log = logging.getLogger(__name__)
OBSERVE_ATTEMPTS = 5
# A step's closing screenshot and the next step's observation are taken milliseconds
# apart with nothing done between: one picture serves both (a screenshot is the
# largest share of a step's browser time). Anything done to the page forgets it.
SHOT_REUSE_SECONDS = 0.5


class _Navigated(Exception):
    """The page navigated while it was being read."""


ID_ATTRIBUTE = "data-skyq-id"
_NET_ERROR = re.compile(r"net::(ERR_[A-Z_]+)")
_PICK_OPTION = """(el, wanted) => {
  const norm = (s) => (s || "").replace(/\\s+/g, " ").trim().toLowerCase();
  const w = norm(wanted);
  const all = Array.from(el.options || []);
  const hit = all.find((o) => norm(o.label) === w || norm(o.text) === w)
    || all.find((o) => o.value === wanted)
    || all.find((o) => norm(o.label).includes(w));
  return hit ? hit.value : null;
}"""


@cache
def _walk_script() -> str:
    return (Path(__file__).with_name("dom_walk.js")).read_text()


@dataclass(frozen=True)
class PageTimings:
    navigation_seconds: float = 20.0
    action_seconds: float = 5.0
    evaluate_seconds: float = 10.0
    settle_seconds: float = 2.0
    download_seconds: float = 60.0


# Drawn as discs before a secret goes in, so no screenshot or frame of the recording
# shows it.
MASK_FIELD = "el => { el.style.webkitTextSecurity = 'disc'; }"


def file_payload(file: FileData) -> FilePayload:
    """A file in memory as Playwright's set_input_files takes it."""
    kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return {"name": file.name, "mimeType": kind, "buffer": file.data}


class PlaywrightPage:
    def __init__(
        self,
        page: Page,
        timings: PageTimings,
        *,
        max_nodes: int = 1500,
        max_text: int = 40_000,
        max_download_bytes: int = 100 * 2**20,
        first_element_id: int = 1,
    ) -> None:
        self.page = page
        self.timings = timings
        self.max_nodes = max_nodes
        self.max_text = max_text
        self.max_download_bytes = max_download_bytes
        self._next_id = first_element_id
        self._frames: dict[str, Frame] = {}
        self._downloads: list[asyncio.Task[FileData | None]] = []
        self._crashed = False
        self._navigations = 0
        self._shot: tuple[bytes, float] | None = None
        self._cdp: CDPSession | None = None
        self._tabs: list[Page] = []
        self.record_targets = False
        page.on("crash", self._on_crash)
        page.on("framenavigated", self._on_navigated)
        page.on("download", self._on_download)
        # Downloads from popups and new tabs count too.
        page.context.on("page", self._on_tab)

    @property
    def next_element_id(self) -> int:
        """The id the next element found would get (a browser session's next run goes
        on from here: the ids written so far stay in its pages)."""
        return self._next_id

    def detach(self) -> None:
        """Stop listening to the page: it outlives this run (a browser session's)."""
        self.page.remove_listener("crash", self._on_crash)
        self.page.remove_listener("framenavigated", self._on_navigated)
        self.page.remove_listener("download", self._on_download)
        self.page.context.remove_listener("page", self._on_tab)
        for tab in self._tabs:
            tab.remove_listener("download", self._on_download)

    def _on_tab(self, opened: Page) -> None:
        self._tabs.append(opened)
        opened.on("download", self._on_download)

    @property
    def url(self) -> str:
        return self.page.url

    # navigation ----------------------------------------------------------------

    async def goto(self, url: str) -> None:
        try:
            url = check_http_url(url)
        except ValueError as exc:
            raise NavigationError(f"cannot open {url!r}: {exc}") from None
        timeout_ms = self.timings.navigation_seconds * 1000
        self.forget_screenshot()
        try:
            response = await self.page.goto(url, wait_until="commit", timeout=timeout_ms)
        except PlaywrightTimeoutError:
            raise NavigationError(
                f"cannot load {url}: no response within {self.timings.navigation_seconds:g}s"
            ) from None
        except PlaywrightError as exc:
            self._raise_if_dead(exc)
            found = _NET_ERROR.search(str(exc))
            reason = found.group(1) if found else str(exc).splitlines()[0]
            if reason == "ERR_TUNNEL_CONNECTION_FAILED":
                reason = "blocked by the egress policy, or the proxy refused it"
            raise NavigationError(f"cannot load {url}: {reason}") from None
        verdict = response.headers.get(BLOCKED_HEADER) if response is not None else None
        if verdict == "blocked":
            raise NavigationError(f"cannot load {url}: blocked by the egress policy")
        if verdict is not None:
            raise NavigationError(f"cannot load {url}: {verdict}")
        await self._settle(self.timings.navigation_seconds)

    async def _settle(self, dom_seconds: float) -> None:
        """Wait for the DOM, then briefly for the load event; a page that never
        finishes loading is still worked with as far as it rendered."""
        for state, seconds in (
            ("domcontentloaded", dom_seconds),
            ("load", self.timings.settle_seconds),
        ):
            try:
                await self.page.wait_for_load_state(state, timeout=seconds * 1000)  # type: ignore[arg-type]
            except PlaywrightTimeoutError:
                return
            except PlaywrightError as exc:
                self._raise_if_dead(exc)
                return

    # observation ---------------------------------------------------------------

    async def observe(self, *, scrolls: int = 0) -> Observation:
        # A page that navigates while it is read destroys the walk's context: read it
        # again once it has settled, and give up on a page that never stops.
        for _ in range(OBSERVE_ATTEMPTS):
            before = self._navigations
            try:
                return await self._observe(scrolls)
            except _Navigated:
                pass  # the walk's context went away with a navigation: read again
            except BrowserError:
                if self._crashed or self._navigations == before:
                    raise  # it failed for another reason than the page moving on
            await self._settle(self.timings.settle_seconds)
        raise BrowserError("the page keeps navigating (a refresh or redirect loop)")

    async def _observe(self, scrolls: int) -> Observation:
        frames: dict[str, Frame] = {}
        nodes: list[PageNode] = []
        top: dict[str, Any] = {}
        truncated = False
        for frame in self.page.frames:
            walked = await self._walk(frame)
            if walked is None:
                continue
            if frame is self.page.main_frame:
                top = walked
            else:
                nodes.append(PageNode(kind="frame", text=frame.url))
            truncated = truncated or bool(walked["truncated"])
            for raw in walked["nodes"]:
                node = _node(raw)
                nodes.append(node)
                if node.id:
                    frames[node.id] = frame
        self._frames = frames
        shots = await self._screenshots(scrolls)
        return Observation(
            url=self.page.url,
            title=str(top.get("title", "")),
            nodes=tuple(nodes),
            screenshots=shots,
            scroll_y=int(top.get("scrollY", 0)),
            scroll_height=int(top.get("scrollHeight", 0)),
            viewport_height=int(top.get("viewportHeight", 0)),
            truncated=truncated,
        )

    async def _walk(self, frame: Frame) -> dict[str, Any] | None:
        args = {
            "start": self._next_id,
            "attr": ID_ATTRIBUTE,
            "maxNodes": self.max_nodes,
            "maxText": self.max_text,
        }
        main = frame is self.page.main_frame
        try:
            text = await asyncio.wait_for(
                frame.evaluate(_walk_script(), args), self.timings.evaluate_seconds
            )
        except TimeoutError:
            if main:
                raise BrowserError(
                    f"the page did not answer within {self.timings.evaluate_seconds:g}s"
                ) from None
            return None
        except PlaywrightError as exc:
            self._raise_if_dead(exc)
            if main and "context was destroyed" in str(exc):
                raise _Navigated from None
            if main:
                raise BrowserError(f"cannot read the page: {_first_line(exc)}") from None
            return None  # a frame that detached mid-walk
        walked: dict[str, Any] = json.loads(text)
        self._next_id = max(self._next_id, int(walked["next"]))
        return walked

    async def _screenshots(self, scrolls: int) -> tuple[bytes, ...]:
        shots = [await self.screenshot()]
        if scrolls <= 0:
            return tuple(shots)
        start = await self._evaluate("window.scrollY")
        for _ in range(scrolls):
            moved = await self._evaluate(
                "(() => { const y = window.scrollY; window.scrollBy(0, window.innerHeight);"
                " return window.scrollY !== y; })()"
            )
            if not moved:
                break
            self.forget_screenshot()
            shots.append(await self.screenshot())
        await self._evaluate(f"window.scrollTo(0, {int(start or 0)})")
        self.forget_screenshot()
        return tuple(shots)

    async def screenshot(self) -> bytes:
        """The viewport as JPEG: a recent picture of an untouched page is reused."""
        if self._shot is not None and time.monotonic() - self._shot[1] <= SHOT_REUSE_SECONDS:
            return self._shot[0]
        shot = await self._picture(self._capture())
        self._shot = (shot, time.monotonic())
        return shot

    async def _capture(self) -> bytes:
        """Chromium's own capture: Playwright's screenshot adds a stylesheet to hide
        the caret and waits on fonts, which doubles its cost; the caret shows where
        the focus is, which is worth seeing anyway."""
        if self._cdp is None:
            self._cdp = await self.page.context.new_cdp_session(self.page)
        answer = await self._cdp.send(
            "Page.captureScreenshot", {"format": "jpeg", "quality": 70, "optimizeForSpeed": True}
        )
        return b64decode(answer["data"])

    def forget_screenshot(self) -> None:
        """The next screenshot is a new picture (the page changed, or a caller wants
        one taken now)."""
        self._shot = None

    async def _evaluate(self, expression: str) -> Any:
        try:
            return await asyncio.wait_for(
                self.page.evaluate(expression), self.timings.evaluate_seconds
            )
        except (PlaywrightError, TimeoutError) as exc:
            if isinstance(exc, PlaywrightError):
                self._raise_if_dead(exc)
            raise BrowserError(f"the page did not answer: {_first_line(exc)}") from None

    # downloads and uploads -------------------------------------------------------

    def _on_download(self, download: Download) -> None:
        self._downloads.append(asyncio.get_running_loop().create_task(self._save(download)))

    async def _save(self, download: Download) -> FileData | None:
        """The finished download, or None (too slow, too large, or failed). The path is
        awaited with a deadline: Playwright's own wait has none."""
        try:
            path = await asyncio.wait_for(download.path(), self.timings.download_seconds)
        except TimeoutError:
            with contextlib.suppress(PlaywrightError):
                await download.cancel()
            log.warning("download timed out", extra={"file": download.suggested_filename})
            return None
        except PlaywrightError:
            return None
        size = path.stat().st_size
        if size > self.max_download_bytes:
            log.warning(
                "download too large", extra={"file": download.suggested_filename, "bytes": size}
            )
            return None
        return FileData(download.suggested_filename or "download", path.read_bytes())

    async def take_downloads(self, wait_seconds: float = 0.0) -> list[FileData]:
        if not self._downloads:
            return []
        done, pending = await asyncio.wait(self._downloads, timeout=wait_seconds or 0.001)
        self._downloads = list(pending)
        return [f for f in (task.result() for task in done) if f is not None]

    async def fill_secret(self, element_id: str, value: str) -> ActionOutcome:
        async def fill_masked() -> None:
            locator = self._locate(element_id)
            # Masked before the value goes in, so no frame of the recording shows it.
            await locator.evaluate(MASK_FIELD)
            await locator.fill(value, timeout=self.timings.action_seconds * 1000)

        target = await self.target_of(element_id)
        outcome = await self._attempt("input_text", fill_masked())
        return replace(outcome, target=target) if target else outcome

    async def upload(self, element_id: str, file: FileData) -> ActionOutcome:
        async def set_files() -> None:
            await self._locate(element_id).set_input_files(
                file_payload(file), timeout=self.timings.action_seconds * 1000
            )

        target = await self.target_of(element_id)
        outcome = await self._attempt("upload_file", set_files())
        return replace(outcome, target=target) if target else outcome

    # coordinates (the computer-use engines) ---------------------------------

    async def screen(self) -> Screen:
        """The viewport in CSS pixels, the space coordinate actions are given in."""
        image = await self._picture(pointer.capture(self.page))
        size = self.page.viewport_size or {"width": 0, "height": 0}
        return Screen(image=image, width=size["width"], height=size["height"], url=self.url)

    async def marked(self, point: tuple[int, int]) -> bytes:
        """The viewport with ``point`` marked, taken just before an action lands there."""
        return await self._picture(pointer.marked(self.page, point))

    async def pointer(self, action: PointerAction) -> ActionOutcome:
        outcome = await self._attempt(action.action_type, pointer.perform(self.page, action))
        if outcome.ok:
            await self._settle(self.timings.settle_seconds)
        return outcome

    async def _picture(self, taking: Awaitable[bytes]) -> bytes:
        try:
            return await asyncio.wait_for(taking, self.timings.navigation_seconds)
        except TimeoutError:
            raise BrowserError(
                f"cannot take a screenshot: no picture within {self.timings.navigation_seconds:g}s"
            ) from None
        except PlaywrightError as exc:
            self._raise_if_dead(exc)
            raise BrowserError(f"cannot take a screenshot: {_first_line(exc)}") from None

    # actions -------------------------------------------------------------------

    def _locate(self, element_id: str) -> Locator:
        frame = self._frames.get(element_id)
        if frame is None:
            raise LookupError(f"element {element_id} is not on the page any more")
        return frame.locator(f'[{ID_ATTRIBUTE}="{element_id}"]').first

    async def act(self, action: AgentAction) -> ActionOutcome:
        timeout_ms = self.timings.action_seconds * 1000
        # Described before acting: a click may take the element (and the page) away.
        target = await self.target_of(action.element_id) if action.element_id else None
        outcome = await self._attempt(action.action_type, self._perform(action, timeout_ms))
        if outcome.ok:
            await self._settle(self.timings.settle_seconds)
        return replace(outcome, target=target) if target else outcome

    async def target_of(self, element_id: str) -> dict[str, Any] | None:
        """A selector for the element that does not depend on skyq's ids, when this page
        records targets (a run that publishes a workflow); else None."""
        frame = self._frames.get(element_id)
        if not self.record_targets or frame is None:
            return None
        return await describe(self.page, frame, self._locate(element_id))

    async def _attempt(self, kind: str, operation: Awaitable[None]) -> ActionOutcome:
        """Run one browser operation; what went wrong is data for the model, except a
        dead browser, which ends the run."""
        self.forget_screenshot()
        try:
            await operation
        except (LookupError, NavigationError) as exc:
            return ActionOutcome(ok=False, error=str(exc))
        except PlaywrightTimeoutError:
            return ActionOutcome(
                ok=False,
                error=f"{kind} timed out after {self.timings.action_seconds:g}s "
                "(the element is hidden, disabled or covered)",
            )
        except PlaywrightError as exc:
            self._raise_if_dead(exc)
            return ActionOutcome(ok=False, error=_first_line(exc))
        return ActionOutcome(ok=True)

    async def _perform(self, action: AgentAction, timeout_ms: float) -> None:
        match action:
            case ClickAction():
                await self._locate(action.id).click(timeout=timeout_ms)
            case InputTextAction():
                await self._locate(action.id).fill(action.text, timeout=timeout_ms)
            case SelectOptionAction():
                await self._select(action, timeout_ms)
            case ScrollAction():
                if action.id:
                    await self._locate(action.id).scroll_into_view_if_needed(timeout=timeout_ms)
                else:
                    sign = -1 if action.direction == "up" else 1
                    await self._evaluate(f"window.scrollBy(0, {sign} * window.innerHeight * 0.8)")
            case KeypressAction():
                if action.id:
                    await self._locate(action.id).press(action.keys, timeout=timeout_ms)
                else:
                    await self.page.keyboard.press(action.keys)
            case GotoAction():
                await self.goto(action.url)
            case WaitAction():
                await asyncio.sleep(action.seconds)
            case _:
                raise LookupError(f"{action.action_type} is not a browser action")

    async def _select(self, action: SelectOptionAction, timeout_ms: float) -> None:
        locator = self._locate(action.id)
        value = await locator.evaluate(_PICK_OPTION, action.option, timeout=timeout_ms)
        if value is None:
            raise LookupError(f"{action.id} has no option {action.option!r}")
        await locator.select_option(value=value, timeout=timeout_ms)

    def _on_crash(self, _page: Page) -> None:
        self._crashed = True

    def _on_navigated(self, frame: Frame) -> None:
        self.forget_screenshot()
        if frame is self.page.main_frame:
            self._navigations += 1

    def _raise_if_dead(self, exc: PlaywrightError) -> None:
        if self._crashed:
            raise BrowserError("the page crashed (its renderer process died)") from exc
        browser = self.page.context.browser
        if self.page.is_closed() or (browser is not None and not browser.is_connected()):
            raise BrowserError(f"the browser closed during the run: {_first_line(exc)}") from exc


def _node(raw: dict[str, Any]) -> PageNode:
    return PageNode(
        kind=str(raw["kind"]),
        text=str(raw.get("text") or ""),
        id=raw.get("id"),
        tag=raw.get("tag"),
        attrs={str(k): str(v) for k, v in (raw.get("attrs") or {}).items()},
        options=tuple(raw.get("options") or ()),
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
