"""What a published workflow uses to find an element again: a selector a person would
write (test id, label, role and name, placeholder, a stable id or name, text), tried in
that order and kept only if it matches exactly that one element now. skyq's own element
ids are never used: they exist only for the run that wrote them.

A target is a plain dict (``by``, ``value``, ``name``, ``frame``), the shape
``skyq.workflows`` turns into code.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Locator, Page

# Ids and names that look generated (long digit runs, hashes) change between page loads.
_STABLE = re.compile(r"^[A-Za-z][A-Za-z_-]*[A-Za-z0-9_-]{0,30}$")
_GENERATED = re.compile(r"\d{4,}|[0-9a-f]{8,}|^(ember|react|ng|mui|radix)[-_:]", re.IGNORECASE)

_DESCRIBE = """el => {
  const attr = n => el.getAttribute(n) || null;
  const tag = el.tagName.toLowerCase();
  const labels = el.labels ? [...el.labels].map(l => l.innerText.trim()).filter(Boolean) : [];
  const text = (tag === "input" ? (el.value || "") : (el.innerText || el.textContent || ""))
    .replace(/\\s+/g, " ").trim();
  const path = [];
  for (let n = el; n && n.nodeType === 1 && n !== document.documentElement; n = n.parentElement) {
    if (n.id && /^[A-Za-z][\\w-]*$/.test(n.id) && !/\\d{4,}/.test(n.id)) {
      path.unshift("#" + n.id); break;
    }
    let i = 1;
    for (let s = n.previousElementSibling; s; s = s.previousElementSibling)
      if (s.tagName === n.tagName) i++;
    path.unshift(n.tagName.toLowerCase() + ":nth-of-type(" + i + ")");
  }
  return {
    tag, type: attr("type"), id: el.id || null, name: attr("name"),
    testid: attr("data-testid") || attr("data-test") || attr("data-qa"),
    placeholder: attr("placeholder"), aria: attr("aria-label"), role: attr("role"),
    label: labels[0] || null, text: text.slice(0, 120), href: attr("href"),
    css: path.join(" > "),
  };
}"""

_INPUT_ROLES = {
    "checkbox": "checkbox",
    "radio": "radio",
    "submit": "button",
    "button": "button",
    "reset": "button",
    "search": "searchbox",
}


def implicit_role(info: dict[str, Any]) -> str | None:
    if info.get("role"):
        return str(info["role"])
    tag = info["tag"]
    if tag == "button":
        return "button"
    if tag == "a" and info.get("href") is not None:
        return "link"
    if tag == "select":
        return "combobox"
    if tag == "textarea":
        return "textbox"
    if tag == "input":
        return _INPUT_ROLES.get((info.get("type") or "text").lower(), "textbox")
    return None


def candidates(info: dict[str, Any]) -> list[dict[str, Any]]:
    """Selectors for the element described, best first."""
    found: list[dict[str, Any]] = []
    if info.get("testid"):
        found.append({"by": "test_id", "value": info["testid"]})
    if info.get("label") and info["tag"] in ("input", "select", "textarea"):
        found.append({"by": "label", "value": info["label"]})
    role = implicit_role(info)
    name = info.get("aria") or (info.get("text") if info["tag"] != "input" else None)
    if info["tag"] == "input" and (info.get("type") or "") in ("submit", "button"):
        name = info.get("aria") or info.get("text")
    if role and name and len(name) <= 80:
        found.append({"by": "role", "value": role, "name": name})
    if info.get("placeholder"):
        found.append({"by": "placeholder", "value": info["placeholder"]})
    if info.get("id") and _STABLE.match(info["id"]) and not _GENERATED.search(info["id"]):
        found.append({"by": "css", "value": f"#{info['id']}"})
    if info.get("name") and _STABLE.match(info["name"]) and not _GENERATED.search(info["name"]):
        found.append({"by": "css", "value": f'{info["tag"]}[name="{info["name"]}"]'})
    if info.get("text") and len(info["text"]) <= 80 and info["tag"] != "input":
        found.append({"by": "text", "value": info["text"]})
    if info.get("css"):
        found.append({"by": "css", "value": info["css"]})
    return found


def locate(scope: Page | Frame, target: dict[str, Any]) -> Locator:
    """The locator a target names, in ``scope``."""
    by, value = target["by"], target["value"]
    if by == "test_id":
        return scope.get_by_test_id(value)
    if by == "label":
        return scope.get_by_label(value, exact=True)
    if by == "role":
        return scope.get_by_role(value, name=target.get("name"), exact=True)
    if by == "placeholder":
        return scope.get_by_placeholder(value, exact=True)
    if by == "text":
        return scope.get_by_text(value, exact=True)
    return scope.locator(value)


async def describe(page: Page, frame: Frame, element: Locator) -> dict[str, Any] | None:
    """The best selector that finds ``element`` (in ``frame``) and nothing else, with
    the iframe it is in; None when none does (or the element is gone)."""
    try:
        info = await element.evaluate(_DESCRIBE)
        frame_css = None if frame is page.main_frame else await _frame_selector(page, frame)
        for target in candidates(info):
            if await locate(frame, target).count() == 1:
                if frame_css:
                    target["frame"] = frame_css
                if (info.get("type") or "").lower() == "password":
                    target["secret"] = True  # what is typed there becomes a secret parameter
                return target
    except PlaywrightError:
        return None
    return None


async def _frame_selector(page: Page, frame: Frame) -> str | None:
    """A CSS selector of the iframe element holding ``frame``, unique in the page."""
    handle = await frame.frame_element()
    info = await handle.evaluate(_DESCRIBE)
    for target in candidates(info):
        if target["by"] == "css" and await page.locator(target["value"]).count() == 1:
            return str(target["value"])
    if info.get("name"):
        return f'iframe[name="{info["name"]}"]'
    return None
