"""Performing a workflow's code on a page: the operations ``skyq.workflows.script``
read from it, each a whitelisted Playwright call, never Python executed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from skyq.agent.page import FileData
from skyq.browser.extraction_plan import read, read_each
from skyq.browser.page_driver import MASK_FIELD, PlaywrightPage, file_payload
from skyq.errors import SkyqError
from skyq.schemas.checks import check_http_url
from skyq.workflows.script import Call, Drawn, Op, Param, Script

MAX_WAIT_MS = 30_000


class ScriptStepError(SkyqError):
    """A statement of the code did not work on the page as it is now."""

    def __init__(self, op: Op, index: int, reason: str) -> None:
        super().__init__(f"line {op.line} ({op.source.strip()[:120]}): {reason}")
        self.op = op
        self.index = index
        self.reason = reason


OnOp = Callable[[int, Op, str | None], Awaitable[None]]
# Fetches a Drawn secret by name (a one-time code); raises LookupError when none comes.
Draw = Callable[[str], Awaitable[str]]
# The file set_input_files names (a URL or an artifact id); raises LookupError.
FetchFile = Callable[[str], Awaitable[FileData]]


async def run_ops(
    driver: PlaywrightPage,
    script: Script,
    values: dict[str, Any],
    on_op: OnOp,
    draw: Draw | None = None,
    fetch_file: FetchFile | None = None,
) -> None:
    """Perform every operation in order; ``on_op(index, op, error)`` after each (error
    None when it worked). A ``Drawn`` value is fetched with ``draw`` just before the
    line that uses it, and a file to upload with ``fetch_file``. Raises
    ScriptStepError at the first that fails."""
    page = driver.page
    timings = driver.timings
    for index, op in enumerate(script.ops):
        driver.forget_screenshot()
        used = op.params()
        try:
            here = await _fetched(values, used, draw)
            if op.action == "set_input_files":
                await _upload(page, op, here, fetch_file, timings.action_seconds)
            else:
                await _perform(
                    page,
                    op,
                    here,
                    timings.action_seconds,
                    timings.navigation_seconds,
                    masked=bool(used & script.secrets),
                )
        except (PlaywrightTimeoutError, TimeoutError):
            reason = "the element did not appear (or stayed hidden, disabled or covered)"
            await on_op(index, op, reason)
            raise ScriptStepError(op, index, reason) from None
        except (PlaywrightError, ValueError, LookupError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            await on_op(index, op, reason)
            raise ScriptStepError(op, index, reason) from None
        await on_op(index, op, None)


class ScriptOutputError(SkyqError):
    """The output is not where the code reads it on the page as it is now."""


async def read_output(driver: PlaywrightPage, script: Script, values: dict[str, Any]) -> Any:
    """What the code returns, read off the page; raises ScriptOutputError saying which
    value is not where the code reads it."""
    if script.output is None:
        return None
    try:
        return await _evaluate(driver.page, script.output, values)
    except (PlaywrightError, LookupError, TimeoutError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ScriptOutputError(f"the output could not be read: {reason}") from None


async def _fetched(values: dict[str, Any], used: set[str], draw: Draw | None) -> dict[str, Any]:
    """``values`` with the Drawn ones this line uses fetched now (a code is fetched for
    each line that types it: an earlier one may have expired)."""
    wanted = [name for name in used if isinstance(values.get(name), Drawn)]
    if not wanted:
        return values
    if draw is None:
        raise LookupError(f"parameters.{wanted[0]} has no value and nothing to fetch it from")
    return {**values, **{name: await draw(name) for name in wanted}}


async def _upload(
    page: Page, op: Op, values: dict[str, Any], fetch_file: FetchFile | None, seconds: float
) -> None:
    """set_input_files(source): the file fetched from its URL or artifact, then given to
    the input (Playwright would read the source as a path on the worker's disk)."""
    if len(op.args) != 1 or op.kwargs:
        raise ValueError("set_input_files() takes one file: a URL or an artifact id")
    if fetch_file is None:
        raise LookupError("this run cannot fetch files to upload")
    file = await fetch_file(str(_value(op.args[0], values)))
    locator = _locator(page, op.chain, values)
    await locator.set_input_files(file_payload(file), timeout=seconds * 1000)


async def _perform(
    page: Page,
    op: Op,
    values: dict[str, Any],
    action_seconds: float,
    navigation_seconds: float,
    *,
    masked: bool = False,
) -> None:
    args = [_value(a, values) for a in op.args]
    kwargs = {k: _value(v, values) for k, v in op.kwargs}
    if op.keyboard:
        await getattr(page.keyboard, op.action)(*args, **kwargs)
        return
    if not op.chain:
        await _page_action(page, op.action, args, kwargs, navigation_seconds)
        return
    locator = _locator(page, op.chain, values)
    kwargs.setdefault("timeout", action_seconds * 1000)
    if masked and op.action == "fill":
        # A secret goes into a field masked first, so no screenshot or frame shows it.
        await locator.evaluate(MASK_FIELD, timeout=action_seconds * 1000)
    await getattr(locator, op.action)(*args, **kwargs)
    if op.action in ("click", "dblclick", "press"):
        # A click that starts a navigation: the next statement waits for its page.
        with contextlib.suppress(PlaywrightError):
            await page.wait_for_load_state("domcontentloaded", timeout=navigation_seconds * 1000)


async def _page_action(
    page: Page, action: str, args: list[Any], kwargs: dict[str, Any], navigation_seconds: float
) -> None:
    if action == "goto":
        url = check_http_url(str(args[0]))
        await page.goto(url, wait_until="domcontentloaded", timeout=navigation_seconds * 1000)
    elif action == "wait_for_timeout":
        await asyncio.sleep(min(float(args[0]), MAX_WAIT_MS) / 1000)
    elif action == "wait_for_load_state":
        await page.wait_for_load_state(*args, timeout=navigation_seconds * 1000)
    else:  # go_back, reload
        await getattr(page, action)(timeout=navigation_seconds * 1000)


def _locator(page: Page, chain: tuple[Call, ...], values: dict[str, Any]) -> Any:
    # Every name in the chain was checked against the script's vocabulary when read.
    found: Any = page
    for link in chain:
        attribute = getattr(found, link.name)
        if link.is_property:
            found = attribute
        else:
            args = [_value(a, values) for a in link.args]
            found = attribute(*args, **{k: _value(v, values) for k, v in link.kwargs})
    return found


def _value(value: Any, values: dict[str, Any]) -> Any:
    return values[value.name] if isinstance(value, Param) else value


async def _evaluate(page: Page, plan: dict[str, Any], values: dict[str, Any]) -> Any:
    kind = plan["kind"]
    if kind == "object":
        return {k: await _evaluate(page, v, values) for k, v in plan["fields"].items()}
    if kind == "list":
        return [await _evaluate(page, v, values) for v in plan["items"]]
    if kind == "param":
        return values[plan["name"]]
    if kind == "read":
        return await read(
            _locator(page, plan["chain"], values),
            plan["type"],
            nth=plan.get("nth", 0),
            pattern=plan.get("pattern"),
        )
    if kind == "each":
        return await read_each(
            _locator(page, plan["chain"], values),
            plan["fields"],
            skip=plan.get("skip", 0),
            limit=plan.get("limit"),
        )
    return plan.get("value")
