"""Plans for reading a run's output off its final page again (``extraction_plan.js``
finds them), and the readers a workflow's code calls to do it."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, Page

from skyq.errors import BrowserError

NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")


@cache
def _script() -> str:
    return (Path(__file__).parent / "extraction_plan.js").read_text()


async def extraction_plan(page: Page, output: Any) -> dict[str, Any]:
    """Where each value of ``output`` can be read on ``page`` (a plan tree)."""
    try:
        plan: dict[str, Any] = json.loads(await page.evaluate(_script(), output))
    except PlaywrightError as exc:
        raise BrowserError(f"cannot read the final page: {str(exc)[:200]}") from None
    _keep_floats(plan, output)
    return plan


def _keep_floats(plan: dict[str, Any], value: Any) -> None:
    """JavaScript has one number type: 42.0 went in as 42. A float stays a float."""
    kind = plan.get("kind")
    if kind == "read" and isinstance(value, float) and plan.get("type") == "integer":
        plan["type"] = "number"
    elif kind == "object" and isinstance(value, dict):
        for key, sub in plan["fields"].items():
            _keep_floats(sub, value.get(key))
    elif kind == "list" and isinstance(value, list):
        for sub, item in zip(plan["items"], value, strict=False):
            _keep_floats(sub, item)
    elif kind == "each" and isinstance(value, list) and value:
        for name, spec in plan["fields"].items():
            if spec.get("type") == "integer" and any(
                isinstance(row.get(name), float) for row in value if isinstance(row, dict)
            ):
                spec["type"] = "number"


def parse_reading(text: str, kind: str, nth: int = 0, pattern: str | None = None) -> Any:
    """A value out of an element's text, as the plan said it showed there; raises
    LookupError when it does not show any more."""
    text = " ".join(text.split())
    if kind == "text":
        if pattern is None:
            return text
        found = re.search(pattern, text)
        if found is None:
            raise LookupError(f"{text[:80]!r} does not match {pattern!r}")
        return found.group(1)
    tokens = NUMBER.findall(text)
    if len(tokens) <= nth:
        raise LookupError(f"no number #{nth + 1} in {text[:80]!r}")
    number = float(tokens[nth].replace(",", ""))
    return int(number) if kind == "integer" else number


async def read(
    locator: Locator, kind: str = "text", *, nth: int = 0, pattern: str | None = None
) -> Any:
    return parse_reading(await locator.inner_text(timeout=5000), kind, nth, pattern)


async def read_each(
    items: Locator, fields: dict[str, dict[str, Any]], *, skip: int = 0, limit: int | None = None
) -> list[dict[str, Any]]:
    """One object per element of ``items`` (from the ``skip``-th, at most ``limit``):
    each field read inside it (``css`` "" is the item itself)."""
    boxes = (await items.all())[skip:]
    if limit is not None:
        boxes = boxes[:limit]
    rows = []
    for box in boxes:
        row = {}
        for name, spec in fields.items():
            scope = box.locator(spec["css"]).first if spec.get("css") else box
            row[name] = await read(
                scope, spec.get("type", "text"), nth=spec.get("nth", 0), pattern=spec.get("pattern")
            )
        rows.append(row)
    return rows
