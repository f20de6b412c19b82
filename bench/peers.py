"""The peers' page observation, measured in skyq's own Chromium on the same pages.

Skyvern: the ``domUtils.js`` shipped in its PyPI package, loaded into the page, and its
tree-building entry point (``buildTreeFromBody``) called as Skyvern calls it, plus a
screenshot; what it would send the model is that tree trimmed and turned into HTML by
Skyvern's own Python (``trim_element_tree``, ``json_to_html``), run in a separate
environment because Skyvern's dependencies are not skyq's. ``python -m bench setup-peers``
makes that environment under ``.bench/peers``; nothing is installed otherwise.

browser-use is not measured: see docs/benchmarks.md for why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
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


def skyvern_python(home: Path = PEERS_HOME) -> Path | None:
    python = home / "skyvern" / "bin" / "python"
    return python if python.exists() else None


def setup(home: Path = PEERS_HOME) -> Path:
    """Make the environment Skyvern's scraper runs in; returns its python."""
    venv = home / "skyvern"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "-q"]
    subprocess.run([*pip, f"skyvern=={SKYVERN_VERSION}"], check=True)
    subprocess.run([*pip, *SKYVERN_EXTRA], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-c", _TO_HTML.split("skyvern_context.set")[0]], check=True)
    return python


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
