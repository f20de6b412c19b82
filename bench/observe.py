"""Observe cost per step: skyq's DOM walk (element ids) and screenshot on pages of 100,
1,000 and 10,000 elements, in one Chromium; and the size of what the model is sent
for each (litellm's token counter), with the count of actionable elements it kept.
Skyvern's scraper is measured on the same pages in the same browser when its
environment is there (bench/peers.py)."""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import peers
from bench.pages import SIZES, actionable, serve, write_pages
from skyq.agent import prompts
from skyq.browser import BrowserRoom, PageTimings, PlaywrightPage
from skyq.config import CHROMIUM_FLAGS, Settings
from skyq.runner import browser_options

REPEAT = 5
# "skyq, every element": the caps a caller can set (SKYQ_MAX_ELEMENTS_IN_PROMPT,
# SKYQ_MAX_TEXT_CHARS_IN_PROMPT) opened so far that nothing is cut.
UNCAPPED = 10**8
_ELEMENT_LINE = re.compile(r"^<\w+ id=K\d+[\s>]", re.MULTILINE)


async def _skyq(
    page: PlaywrightPage, url: str, repeat: int, max_chars: int
) -> tuple[list[float], str]:
    """Observation times (ms) and the listing the model would get."""
    await page.goto(url)
    times, obs = [], None
    for _ in range(repeat):
        page.forget_screenshot()  # each observation takes its own picture
        started = time.perf_counter()
        obs = await page.observe()
        times.append((time.perf_counter() - started) * 1000)
    assert obs is not None
    return times, prompts.page_listing(obs, max_chars)


@dataclass
class ObserveResult:
    elements: int
    median_ms: float
    min_ms: float
    max_ms: float
    tokens: int
    kept_actionable: int
    actionable: int
    all_median_ms: float = 0.0
    all_tokens: int = 0
    all_kept: int = 0
    skyvern_median_ms: float | None = None
    skyvern_tokens: int | None = None
    skyvern_actionable: int | None = None
    browser_use_median_ms: float | None = None
    browser_use_tokens: int | None = None
    browser_use_interactive: int | None = None


async def _measure(base: str, names: dict[int, str], repeat: int) -> list[ObserveResult]:
    # litellm's bundled price table: no fetch from the internet at import.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from litellm import token_counter

    settings = Settings()
    room = BrowserRoom(browser_options(settings))
    python = peers.skyvern_python()
    skyvern = peers.Skyvern(python) if python else None
    results = []
    try:
        async with room.run_page() as capped_page, room.run_page() as every_page:
            timings = PageTimings(navigation_seconds=30, action_seconds=5, download_seconds=5)
            page = PlaywrightPage(
                capped_page,
                timings,
                max_nodes=settings.max_elements_in_prompt,
                max_text=settings.max_text_chars_in_prompt,
            )
            every = PlaywrightPage(every_page, timings, max_nodes=UNCAPPED, max_text=UNCAPPED)
            for size, name in names.items():
                url = f"{base}/{name}"
                times, listing = await _skyq(page, url, repeat, settings.max_text_chars_in_prompt)
                all_times, all_listing = await _skyq(every, url, repeat, UNCAPPED)
                result = ObserveResult(
                    elements=size,
                    median_ms=statistics.median(times),
                    min_ms=min(times),
                    max_ms=max(times),
                    tokens=token_counter(model="gpt-4o", text=listing),
                    kept_actionable=len(_ELEMENT_LINE.findall(listing)),
                    actionable=actionable(size),
                    all_median_ms=statistics.median(all_times),
                    all_tokens=token_counter(model="gpt-4o", text=all_listing),
                    all_kept=len(_ELEMENT_LINE.findall(all_listing)),
                )
                if skyvern is not None:
                    # A fresh load: Skyvern's walk must not see skyq's id attributes.
                    await page.goto(url)
                    peer_times, found = [], None
                    for _ in range(repeat):
                        milliseconds, *found = await skyvern.observe(page.page)
                        peer_times.append(milliseconds)
                    assert found is not None
                    result.skyvern_median_ms = statistics.median(peer_times)
                    result.skyvern_tokens = token_counter(
                        model="gpt-4o", text=skyvern.prompt(found[1])
                    )
                    result.skyvern_actionable = peers.interactable(found[0])
                results.append(result)
        browser_use = peers.browser_use_python()
        if browser_use is not None:
            urls = [f"{base}/{name}" for name in names.values()]
            peer = peers.BrowserUse(browser_use, settings.chromium_path, CHROMIUM_FLAGS)
            for result, seen in zip(results, peer.observe(urls, repeat), strict=True):
                result.browser_use_median_ms = statistics.median(seen["ms"])
                result.browser_use_tokens = token_counter(model="gpt-4o", text=seen["text"])
                result.browser_use_interactive = seen["interactive"]
    finally:
        await room.close()
    return results


def run(sizes: tuple[int, ...] = SIZES, repeat: int = REPEAT) -> list[ObserveResult]:
    with tempfile.TemporaryDirectory() as folder:
        names = {k: v for k, v in write_pages(Path(folder)).items() if k in sizes}
        with serve(Path(folder)) as base:
            return asyncio.run(_measure(base, names, repeat))
