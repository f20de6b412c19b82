"""Observe cost per step: skyq's DOM walk (element ids) and screenshot on pages of 100,
1,000 and 10,000 elements, in one Chromium; and the size of what the model is sent
for each (litellm's token counter), with the count of actionable elements it kept."""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.pages import SIZES, actionable, serve, write_pages
from skyq.agent import prompts
from skyq.browser import BrowserRoom, PageTimings, PlaywrightPage
from skyq.config import Settings
from skyq.runner import browser_options

REPEAT = 5


@dataclass
class ObserveResult:
    elements: int
    median_ms: float
    min_ms: float
    max_ms: float
    tokens: int
    kept_actionable: int
    actionable: int


async def _measure(base: str, names: dict[int, str], repeat: int) -> list[ObserveResult]:
    # litellm's bundled price table: no fetch from the internet at import.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from litellm import token_counter

    settings = Settings()
    room = BrowserRoom(browser_options(settings))
    results = []
    try:
        async with room.context() as context:
            page = PlaywrightPage(
                await context.new_page(),
                PageTimings(navigation_seconds=30, action_seconds=5, download_seconds=5),
                max_nodes=settings.max_elements_in_prompt,
                max_text=settings.max_text_chars_in_prompt,
            )
            for size, name in names.items():
                await page.goto(f"{base}/{name}")
                times, obs = [], None
                for _ in range(repeat):
                    started = time.perf_counter()
                    obs = await page.observe()
                    times.append((time.perf_counter() - started) * 1000)
                assert obs is not None
                listing = prompts.page_listing(obs, settings.max_text_chars_in_prompt)
                kept = sum(1 for node in obs.nodes if node.kind == "element" and node.id)
                results.append(
                    ObserveResult(
                        elements=size,
                        median_ms=statistics.median(times),
                        min_ms=min(times),
                        max_ms=max(times),
                        tokens=token_counter(model="gpt-4o", text=listing),
                        kept_actionable=kept,
                        actionable=actionable(size),
                    )
                )
    finally:
        await room.close()
    return results


def run(sizes: tuple[int, ...] = SIZES, repeat: int = REPEAT) -> list[ObserveResult]:
    with tempfile.TemporaryDirectory() as folder:
        names = {k: v for k, v in write_pages(Path(folder)).items() if k in sizes}
        with serve(Path(folder)) as base:
            return asyncio.run(_measure(base, names, repeat))
