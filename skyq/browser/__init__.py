"""The browser room: the only place Playwright is imported."""

from skyq.browser.page_driver import PageTimings, PlaywrightPage
from skyq.browser.room import BrowserOptions, BrowserRoom, missing_chromium_message

__all__ = [
    "BrowserOptions",
    "BrowserRoom",
    "PageTimings",
    "PlaywrightPage",
    "missing_chromium_message",
]
