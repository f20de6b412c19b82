"""The peers' page observation, measured in skyq's own Chromium on the same pages.

Skyvern: the ``domUtils.js`` shipped in its PyPI package, loaded into the page, and its
tree-building entry point (``buildTreeFromBody``) called as Skyvern calls it, plus a
screenshot; what it would send the model is that tree trimmed and turned into HTML by
Skyvern's own Python (``trim_element_tree``, ``json_to_html``), run in a separate
environment because Skyvern's dependencies are not skyq's. ``python -m bench setup-peers``
makes that environment under ``.bench/peers``; nothing is installed otherwise.

browser-use: its DOM service (``BrowserSession.get_browser_state_summary``, which
builds the serialized tree and takes a screenshot) from its PyPI package in its own
environment, attached over CDP to a Chromium of the same build and flags started
for it; what it sends the model is that state's ``llm_representation()``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from playwright.async_api import Page

PEERS_HOME = Path(".bench/peers")
SKYVERN_VERSION = "1.0.56"
# What importing Skyvern's scraper needs beyond what its wheel declares (found by trying).
SKYVERN_EXTRA = (
    "playwright", "structlog", "pydantic", "pydantic-settings", "opentelemetry-sdk",
    "pillow", "tiktoken", "aiofiles", "psutil", "websockets", "aiohttp", "filetype",
    "sqlalchemy", "email-validator", "jsonschema", "litellm", "fastapi", "anthropic",
    "json_repair", "lark",
)  # fmt: skip

_TO_HTML = """
import json, sys
from skyvern.forge.sdk.core import skyvern_context
from skyvern.webeye.scraper.scraped_page import json_to_html
from skyvern.webeye.scraper.scraper import trim_element_tree
skyvern_context.set(skyvern_context.SkyvernContext())
tree = json.load(open(sys.argv[1]))
sys.stdout.write("".join(json_to_html(e) for e in trim_element_tree(tree)))
"""


BROWSER_USE_VERSION = "0.13.14"
_BROWSER_USE_OBSERVE = """
import asyncio, json, sys, time
from browser_use.browser import BrowserSession

async def main(cdp_url, urls, repeat):
    session = BrowserSession(cdp_url=cdp_url)
    await session.start()
    found = []
    for url in urls:
        await session.navigate_to(url)
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            state = await session.get_browser_state_summary(include_screenshot=True)
            times.append((time.perf_counter() - started) * 1000)
        found.append({
            "ms": times,
            "text": state.dom_state.llm_representation(),
            "interactive": len(state.dom_state.selector_map),
        })
    await session.kill()
    print(json.dumps(found))

asyncio.run(main(sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])))
"""


def _python(home: Path, name: str) -> Path | None:
    python = home / name / "bin" / "python"
    return python if python.exists() else None


def skyvern_python(home: Path = PEERS_HOME) -> Path | None:
    return _python(home, "skyvern")


def browser_use_python(home: Path = PEERS_HOME) -> Path | None:
    return _python(home, "browser-use")


def _venv(home: Path, name: str, *packages: str) -> Path:
    venv = home / name
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *packages], check=True)
    return venv / "bin" / "python"


def setup(home: Path = PEERS_HOME) -> list[Path]:
    """Make the environments the peers run in; returns their pythons."""
    skyvern = _venv(home, "skyvern", f"skyvern=={SKYVERN_VERSION}")
    subprocess.run([str(skyvern.parent / "pip"), "install", "-q", *SKYVERN_EXTRA], check=True)
    subprocess.run([str(skyvern), "-c", _TO_HTML.split("skyvern_context.set")[0]], check=True)
    pythons = [skyvern]
    try:
        pythons.append(_venv(home, "browser-use", f"browser-use=={BROWSER_USE_VERSION}"))
    except subprocess.CalledProcessError as exc:
        print(f"browser-use does not install here ({exc}); it is left out", file=sys.stderr)
    return pythons


def _dom_utils(python: Path) -> str:
    found = subprocess.run(
        [str(python), "-c", "import skyvern, os; print(os.path.dirname(skyvern.__file__))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return (Path(found) / "webeye" / "scraper" / "domUtils.js").read_text()


class Skyvern:
    def __init__(self, python: Path) -> None:
        self.python = python
        self.script = _dom_utils(python)

    async def observe(self, page: Page) -> tuple[float, Any, Any]:
        """One observation as Skyvern makes it: (milliseconds, elements, tree)."""
        if not await page.evaluate("typeof buildTreeFromBody === 'function'"):
            await page.add_script_tag(content=self.script)
        started = time.perf_counter()
        elements, tree = await page.evaluate("async () => await buildTreeFromBody()")
        await page.screenshot(type="jpeg", quality=70)
        return (time.perf_counter() - started) * 1000, elements, tree

    def prompt(self, tree: Any) -> str:
        """The element tree as Skyvern's prompt carries it (HTML)."""
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
            json.dump(tree, file)
        try:
            return subprocess.run(
                [str(self.python), "-c", _TO_HTML, file.name],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "LOG_LEVEL": "ERROR", "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
            ).stdout
        finally:
            os.unlink(file.name)


def interactable(elements: list[dict[str, Any]]) -> int:
    return sum(1 for element in elements if element.get("interactable"))


class BrowserUse:
    def __init__(self, python: Path, chromium: Path, flags: tuple[str, ...]) -> None:
        self.python = python
        self.chromium = chromium
        self.flags = flags

    def observe(self, urls: list[str], repeat: int) -> list[dict[str, Any]]:
        """Per URL: the observation times (ms), the text for the model, and how many
        interactive elements browser-use indexed."""
        with tempfile.TemporaryDirectory() as profile:
            browser = subprocess.Popen(
                [
                    str(self.chromium),
                    *self.flags,
                    "--headless",
                    "--remote-debugging-port=0",
                    f"--user-data-dir={profile}",
                    "about:blank",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                cdp_url = _devtools_url(browser)
                answer = subprocess.run(
                    [str(self.python), "-c", _BROWSER_USE_OBSERVE, cdp_url, json.dumps(urls),
                     str(repeat)],
                    check=True,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    env={**os.environ, "BROWSER_USE_LOGGING_LEVEL": "error",
                         "ANONYMIZED_TELEMETRY": "false"},
                )  # fmt: skip
            finally:
                browser.terminate()
                browser.wait(timeout=30)
        found: list[dict[str, Any]] = json.loads(answer.stdout.strip().splitlines()[-1])
        return found


def _devtools_url(browser: subprocess.Popen[str]) -> str:
    """http://127.0.0.1:PORT from the "DevTools listening on ws://..." line."""
    assert browser.stderr is not None
    for line in browser.stderr:
        if "DevTools listening on ws://" in line:
            host_port = line.split("ws://", 1)[1].split("/", 1)[0]
            # Whatever Chromium logs later must not fill the pipe and stall it.
            threading.Thread(target=browser.stderr.read, daemon=True).start()
            return f"http://{host_port}"
    raise RuntimeError("Chromium ended before it listened for DevTools")
