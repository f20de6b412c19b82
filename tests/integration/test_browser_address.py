"""browser_address: a run in the caller's own Chromium, reached over CDP. The caller's
browser is a separate Chromium with a remote-debugging port, as a caller would run it."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import async_playwright

from skyq.config import CHROMIUM_FLAGS, Settings
from tests.cluster import wait_until
from tests.fake_llm import Script
from tests.integration.test_agent_actions import complete
from tests.s3_server import free_port


class CallersChromium:
    def __init__(self, port: int, process: subprocess.Popen[bytes]) -> None:
        self.port = port
        self.process = process
        self.address = f"http://127.0.0.1:{port}"

    def pages(self) -> list[str]:
        listed = httpx.get(f"{self.address}/json/list", timeout=5).json()
        return [entry["url"] for entry in listed if entry["type"] == "page"]

    def alive(self) -> bool:
        try:
            return httpx.get(f"{self.address}/json/version", timeout=2).status_code == 200
        except httpx.TransportError:
            return False


@pytest.fixture
def callers_chromium(tmp_path) -> Iterator[CallersChromium]:
    port = free_port()
    process = subprocess.Popen(
        [
            str(Settings().chromium_path),
            "--headless",
            *CHROMIUM_FLAGS,
            f"--remote-debugging-port={port}",
            f"--user-data-dir={tmp_path / 'callers-profile'}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    chromium = CallersChromium(port, process)
    try:
        wait_until(chromium.alive, 30, "the caller's Chromium")
        yield chromium
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(tmp_path / "callers-profile", ignore_errors=True)


def sign_in_callers_browser(chromium: CallersChromium, sites, token: str) -> None:
    """The caller signed in earlier, in their own browser: its cookie is there."""
    sites.account_sessions.add(token)

    async def add_cookie() -> None:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.connect_over_cdp(chromium.address)
            await browser.contexts[0].add_cookies(
                [{"name": "sid", "value": token, "url": sites.url("account")}]
            )
            await browser.close()

    asyncio.run(add_cookie())


def test_a_run_works_in_the_callers_browser_and_leaves_it_open(
    embedded, fake_llm, sites, callers_chromium
):
    sign_in_callers_browser(callers_chromium, sites, "callers-token")
    before = callers_chromium.pages()
    fake_llm.script = Script([complete({"seen": "signed in"})])
    response = embedded.run(
        prompt="Read the account page",
        url=sites.url("account"),
        browser_address=callers_chromium.address,
        cdp_connect_headers={"X-Debug-Token": "t"},
    )
    assert response.status == "completed", response.failure_reason
    # The page the model saw had the caller's cookie: the worker's browser has none.
    assert "Signed in as alice" in fake_llm.calls[0].text
    assert callers_chromium.alive(), "the caller's browser was closed"
    assert callers_chromium.pages() == before, "the run's page was left open"
    assert response.recording_url, "the run in the caller's browser was recorded too"

    fake_llm.script = Script([complete({"seen": "signed out"})])
    alone = embedded.run(prompt="Read the account page", url=sites.url("account"))
    assert "Please sign in" in fake_llm.calls[-2].text
    assert alone.status == "completed"


def test_a_browser_address_inside_the_network_is_refused(embedded, fake_llm):
    fake_llm.script = Script([complete()])
    response = embedded.run(
        prompt="x", url="http://example.com", browser_address="http://10.1.2.3:9222"
    )
    assert response.status == "failed"
    assert "browser_address is blocked by the egress policy" in (response.failure_reason or "")
    assert fake_llm.calls == []


def test_a_browser_address_with_no_browser_behind_it_fails_clearly(embedded, fake_llm):
    fake_llm.script = Script([complete()])
    closed_port = free_port()
    response = embedded.run(
        prompt="x", url="http://example.com", browser_address=f"http://127.0.0.1:{closed_port}"
    )
    assert response.status == "failed"
    assert f"no DevTools endpoint at http://127.0.0.1:{closed_port}" in (
        response.failure_reason or ""
    )
