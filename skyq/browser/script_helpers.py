"""What a workflow's code imports, so that it also runs on its own as a Playwright
script (``python workflow.py --param name=value``); inside skyq the same calls are
performed by ``skyq.browser.script_runner`` instead."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import async_playwright

from skyq.browser.extraction_plan import read, read_each
from skyq.config import CHROMIUM_FLAGS, Settings

__all__ = ["main", "read", "read_each"]


def main(run: Callable[[Any, dict[str, Any]], Awaitable[Any]], parameters: dict[str, Any]) -> None:
    parser = argparse.ArgumentParser(description="Run this workflow in a local Chromium.")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--headed", action="store_true", help="Show the browser.")
    options = parser.parse_args()
    values = dict(parameters)
    for item in options.param:
        name, _, value = item.partition("=")
        values[name] = value
    missing = [name for name, value in values.items() if value is None]
    if missing:
        parser.error(f"give --param {missing[0]}=...")
    print(json.dumps(asyncio.run(_run(run, values, not options.headed)), indent=2))


async def _run(run: Callable[..., Awaitable[Any]], values: dict[str, Any], headless: bool) -> Any:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(Settings().chromium_path),
            headless=headless,
            args=list(CHROMIUM_FLAGS),
        )
        try:
            page = await browser.new_page()
            return await run(page, values)
        finally:
            await browser.close()
