"""Throughput of a 5-step task (goto, two inputs, a click, an extraction) in runs per
minute at concurrency 1, 2 and 4, for three designs on the same page:

- skyq: API, Redis, a worker with N children (a Chromium each, a context per run), the
  stand-in model answering at once, S3 (moto) and PostgreSQL: the whole system;
- skyq without video: the same with SKYQ_RECORD_VIDEO=false, to show what the
  recording costs (the baselines record nothing);
- skyq, threads pool: a worker on Celery's threads pool, the N runs as contexts of
  its one Chromium (SKYQ_WORKER_POOL=threads), with video;
- plain Playwright: the physical limit, one browser and a fresh context per run;
- launch per run: the naive design, a new Chromium for every run.

The baselines get skyq's fix for Chromium's idle browser-UI pages too
(skyq/browser/idle_ui.py), so the limit is the best plain Playwright can do here.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playwright.async_api import Browser, async_playwright

from bench.pages import serve, write_pages
from skyq.browser.idle_ui import close_browser_ui
from skyq.config import CHROMIUM_FLAGS, Settings

CONCURRENCY = (1, 2, 4)
RUNS_PER_LEVEL = 12
TASK = "Subscribe Ada Lovelace (ada@example.com) and read the member number"
# skyq's designs: (name, SKYQ_RECORD_VIDEO, SKYQ_WORKER_POOL)
DESIGNS = (
    ("skyq", "true", "prefork"),
    ("skyq without video", "false", "prefork"),
    ("skyq, threads pool", "true", "threads"),
)

if TYPE_CHECKING:
    from bench.system import System


@dataclass
class Throughput:
    design: str
    concurrency: int
    runs: int
    seconds: float

    @property
    def per_minute(self) -> float:
        return self.runs / self.seconds * 60


async def _five_steps(browser: Browser, url: str) -> str:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(url)
        await page.fill("#name", "Ada Lovelace")
        await page.fill("#email", "ada@example.com")
        await page.click("button")
        return await page.inner_text("#result")
    finally:
        await context.close()


async def _baseline(url: str, concurrency: int, runs: int, launch_per_run: bool) -> float:
    executable = str(Settings().chromium_path)
    async with async_playwright() as playwright:

        async def launch() -> Browser:
            browser = await playwright.chromium.launch(
                executable_path=executable, args=list(CHROMIUM_FLAGS)
            )
            await close_browser_ui(browser)
            return browser

        shared = None if launch_per_run else await launch()
        slots = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with slots:
                browser = shared or await launch()
                try:
                    assert (await _five_steps(browser, url)).startswith("Welcome")
                finally:
                    if shared is None:
                        await browser.close()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(runs)))
        elapsed = time.perf_counter() - started
        if shared is not None:
            await shared.close()
    return elapsed


def signup_model(call: Any) -> dict[str, Any]:
    """The stand-in model for the signup task: one action a step, from the page alone
    (stateless, so any number of runs share it)."""
    if call.kind == "verify":
        return {"user_goal_achieved": True, "reasoning": "done"}
    text = call.text
    if "Welcome Ada Lovelace" in text:
        member = text.split("member #", 1)[1].split()[0].strip("<>/p")
        return {"actions": [{"action_type": "complete", "data": {"member": int(member)}}]}
    steps = sum(1 for line in text.splitlines() if line.startswith("step "))
    plan = [
        ("input_text", "Name", "Ada Lovelace"),
        ("input_text", "Email", "ada@example.com"),
        ("click", "Subscribe", None),
    ]
    kind, label, value = plan[min(steps, 2)]
    action: dict[str, Any] = {"action_type": kind, "id": call.id_of(label)}
    if value is not None:
        action["text"] = value
    return {"actions": [action]}


def run_baselines(
    concurrency: tuple[int, ...] = CONCURRENCY, runs: int = RUNS_PER_LEVEL
) -> list[Throughput]:
    results = []
    with tempfile.TemporaryDirectory() as folder:
        write_pages(Path(folder))
        with serve(Path(folder)) as base:
            url = f"{base}/signup.html"
            for level in concurrency:
                for design, launch in (("plain playwright", False), ("launch per run", True)):
                    seconds = asyncio.run(_baseline(url, level, runs, launch))
                    results.append(Throughput(design, level, runs, seconds))
    return results


def run_skyq(
    concurrency: tuple[int, ...] = CONCURRENCY,
    runs: int = RUNS_PER_LEVEL,
    shared: System | None = None,
) -> list[Throughput]:
    """The whole system at each concurrency: a worker with that many children."""

    from bench.system import system

    results = []
    with tempfile.TemporaryDirectory() as folder:
        write_pages(Path(folder))
        with serve(Path(folder)) as base, system(signup_model, shared=shared) as deployment:
            url = f"{base}/signup.html"
            cluster = deployment.cluster
            for design, video, pool in DESIGNS:
                for level in concurrency:
                    name = f"worker-{pool}-{level}-{video}"
                    env = {"SKYQ_RECORD_VIDEO": video, "SKYQ_WORKER_POOL": pool}
                    with deployment.worker(level, name, **env):
                        # Each child's browser is up before the clock starts.
                        signup_runs(cluster.url, deployment.key, url, level)
                        seconds = signup_runs(cluster.url, deployment.key, url, runs)
                        results.append(Throughput(design, level, runs, seconds))
    return results


def signup_runs(api: str, key: str, url: str, count: int) -> float:
    """``count`` signup runs at once through the API; the seconds until all ended,
    each completed."""
    import skyq

    async def together() -> float:
        async with skyq.AsyncClient(api, api_key=key) as client:
            started = time.perf_counter()
            done = await asyncio.gather(
                *(
                    client.run_task(TASK, url=url, wait_for_completion=True, timeout=600)
                    for _ in range(count)
                )
            )
            elapsed = time.perf_counter() - started
        assert all(r.status == "completed" for r in done), [r.failure_reason for r in done]
        return elapsed

    return asyncio.run(together())
