"""What a run leaves behind, and the browser room's lifetime rules."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from skyq.browser import BrowserOptions, BrowserRoom
from skyq.browser.memory import tree_pss_bytes
from skyq.config import Settings
from skyq.runner import browser_options
from tests.fake_llm import Script
from tests.integration.test_agent_actions import act, complete


def _path(url: str) -> Path:
    return Path(urlsplit(url).path)


def test_each_step_stores_screenshots_tree_and_llm_exchange(embedded, fake_llm, sites):
    fake_llm.script = Script(
        [lambda c: act({"action_type": "click", "id": c.id_of("Add to cart")}), complete({"n": 1})]
    )
    response = embedded.run(prompt="Add to cart", url=sites.url("products.html"))
    assert response.step_count == 2
    stored = embedded.store.artifacts(response.run_id)
    by_step: dict[str | None, list[str]] = {}
    for artifact in stored:
        by_step.setdefault(artifact.step_id, []).append(artifact.artifact_type)
    steps = embedded.store.steps(response.run_id)
    first, second = (by_step[s.step_id] for s in steps)
    for kinds in (first, second):
        for expected in (
            "screenshot_llm",
            "visible_elements_tree",
            "llm_request",
            "llm_response",
            "llm_response_parsed",
            "screenshot_action",
        ):
            assert expected in kinds
    assert "screenshot_final" in second
    # Every artifact is where its URI says, with the checksum and size recorded.
    for artifact in stored:
        data = embedded.artifacts.get(artifact.uri)
        assert len(data) == artifact.file_size
        assert artifact.uri.split("/")[-2] in ("001", "002")
    request = json.loads(
        embedded.artifacts.get(next(a.uri for a in stored if a.artifact_type == "llm_request"))
    )
    assert request["messages"][0]["content"].startswith("skyq-request: step")
    assert "b64 chars>" in json.dumps(request)  # images stored apart, not inline
    tree = next(a for a in stored if a.artifact_type == "visible_elements_tree")
    assert "<button id=K1>Add to cart</button>" in embedded.artifacts.get(tree.uri).decode()


def test_screenshot_urls_newest_first(embedded, fake_llm, sites):
    fake_llm.script = Script([act({"action_type": "scroll"}), complete()])
    response = embedded.run(prompt="Scroll", url=sites.url("long.html"))
    urls = response.screenshot_urls
    assert urls and "screenshot_final" in urls[0]
    # Newest first, by when each picture was taken (the artifact record's time; the
    # files' own times are when the upload pool wrote them, in any order).
    taken = {
        Path(a.uri).name: a.created_at
        for a in embedded.store.artifacts(response.run_id)
        if a.artifact_type.startswith("screenshot")
    }
    times = [taken[_path(u).name] for u in urls]
    assert len(times) >= 4 and times == sorted(times, reverse=True)
    assert _path(urls[0]).read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG


def test_timestamps_and_tokens_are_recorded(embedded, fake_llm, sites):
    fake_llm.script = Script([complete()])
    response = embedded.run(prompt="Done", url=sites.url("products.html"))
    assert response.created_at <= response.started_at <= response.finished_at
    assert response.modified_at >= response.finished_at
    run = embedded.store.get_run(response.run_id)
    assert (run.input_tokens, run.output_tokens) == (200, 40)  # step + verify, 100/20 each


def test_max_screenshot_scrolls_sends_more_screenshots(embedded, fake_llm, sites):
    fake_llm.script = Script([complete()])
    embedded.run(prompt="Look", url=sites.url("long.html"), max_screenshot_scrolls=2)
    assert fake_llm.calls[0].images == 3
    fake_llm.reset(Script([complete()]))
    embedded.run(prompt="Look", url=sites.url("long.html"))
    assert fake_llm.calls[0].images == 1


def _chromium_pids(marker: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", "--", marker], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_browser_is_reused_and_relaunched_after_a_crash(loop, fake_llm, sites, tmp_path):
    marker = f"--skyq-test-marker={os.getpid()}-{tmp_path.name}"
    options = browser_options(Settings())
    room = BrowserRoom(BrowserOptions(options.executable, extra_args=[marker]))

    async def page_title() -> str:
        async with room.run_page() as page:
            await page.goto(sites.url("products.html"))
            return await page.title()

    try:
        assert loop.run(page_title()) == "Gadget Store"
        assert loop.run(page_title()) == "Gadget Store"
        assert room.launches == 1
        pids = _chromium_pids(marker)
        assert pids
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        assert loop.run(page_title()) == "Gadget Store"
        assert room.launches == 2
        # The memory cap's remedy: the browser is retired, its processes end, and the
        # next run has a fresh one. The measure counts the browser's processes.
        with_browser = tree_pss_bytes(os.getpid())
        old = _chromium_pids(marker)
        loop.run(room.retire_browser())
        assert not set(old) & set(_chromium_pids(marker))
        assert tree_pss_bytes(os.getpid()) < with_browser, "the browser's memory is given back"
        assert loop.run(page_title()) == "Gadget Store"
        assert room.launches == 3
    finally:
        loop.run(room.close())
    assert _chromium_pids(marker) == []


def test_runs_share_one_launch_and_a_retired_browser_waits_for_its_runs(loop, sites, tmp_path):
    """Runs that share a worker's browser (the threads pool): starting together they
    launch it once; retired for its memory while a run is in it, it stays up for that
    run, the next run gets a fresh browser, and the old one closes with the last run."""
    marker = f"--skyq-test-marker={os.getpid()}-{tmp_path.name}"
    options = browser_options(Settings())
    room = BrowserRoom(BrowserOptions(options.executable, extra_args=[marker]))

    async def scenario() -> None:
        async with contextlib.AsyncExitStack() as first_runs:
            pages = await asyncio.gather(
                *(first_runs.enter_async_context(room.run_page()) for _ in range(3))
            )
            assert room.launches == 1
            assert room.runs_in_browser == 3
            old = _chromium_pids(marker)
            await room.retire_browser()
            async with room.run_page() as later:
                assert room.launches == 2
                await later.goto(sites.url("products.html"))
            # The retired browser still serves the runs that were in it.
            for page in pages:
                await page.goto(sites.url("products.html"))
                assert await page.title() == "Gadget Store"
            assert set(old) <= set(_chromium_pids(marker))
        assert not set(old) & set(_chromium_pids(marker)), "closed with its last run"

    try:
        loop.run(scenario(), timeout=90)
    finally:
        loop.run(room.close())
    assert _chromium_pids(marker) == []


def test_missing_chromium_fails_the_run_with_the_reason(embedded, fake_llm, sites, loop):
    from skyq.runner import RunServices

    room = BrowserRoom(BrowserOptions(Path("/nonexistent/chromium")))
    embedded.services = RunServices(
        settings=embedded.settings, store=embedded.store, artifacts=embedded.artifacts, room=room
    )
    response = embedded.run(prompt="x", url=sites.url("products.html"))
    assert response.status == "failed"
    assert response.failure_reason.startswith("Chromium not found at /nonexistent/chromium")


def test_browser_killed_mid_run_fails_that_run_and_the_next_run_relaunches(
    embedded, fake_llm, sites, loop, tmp_path
):
    from skyq.runner import RunServices

    marker = f"--skyq-test-marker=midrun-{os.getpid()}-{tmp_path.name}"
    room = BrowserRoom(BrowserOptions(browser_options(Settings()).executable, extra_args=[marker]))
    embedded.services = RunServices(
        settings=embedded.settings, store=embedded.store, artifacts=embedded.artifacts, room=room
    )

    def kill_browser(call):
        for pid in _chromium_pids(marker):
            os.kill(pid, signal.SIGKILL)
        return act({"action_type": "click", "id": call.id_of("Add to cart")})

    try:
        fake_llm.script = Script([kill_browser])
        crashed = embedded.run(prompt="Add to cart", url=sites.url("products.html"))
        assert crashed.status == "failed"
        assert "browser closed during the run" in crashed.failure_reason
        fake_llm.reset(Script([complete()]))
        after = embedded.run(prompt="Done", url=sites.url("products.html"))
        assert after.status == "completed"
        assert room.launches == 2
    finally:
        loop.run(room.close())


def test_the_run_is_recorded_as_a_video_that_plays_in_chromium(
    embedded, fake_llm, sites, loop, room
):
    fake_llm.script = Script(
        [lambda c: act({"action_type": "click", "id": c.id_of("Add to cart")}), complete()]
    )
    response = embedded.run(prompt="Add to cart", url=sites.url("products.html"))
    assert response.recording_url and response.recording_url.endswith(".webm")
    video = _path(response.recording_url)
    assert video.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # an EBML (webm) file

    async def playable() -> tuple[float, int]:
        async with room.run_page() as page:
            data = video.read_bytes()
            await page.route(
                "http://video.test/run.webm",
                lambda route: route.fulfill(body=data, content_type="video/webm"),
            )
            await page.route(
                "http://video.test/",
                lambda route: route.fulfill(
                    body='<video src="/run.webm" muted preload="auto"></video>',
                    content_type="text/html",
                ),
            )
            await page.goto("http://video.test/")
            return await page.evaluate(
                """() => new Promise((resolve) => {
                    const v = document.querySelector('video');
                    const done = () => resolve([v.duration, v.videoWidth]);
                    if (v.readyState >= 1) done(); else v.onloadedmetadata = done;
                    v.onerror = () => resolve([0, 0]);
                })"""
            )

    duration, width = loop.run(playable(), timeout=30)
    assert width == room.options.video_size[0] == Settings().video_width  # scaled down
    assert duration > 0
