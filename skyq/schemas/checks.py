"""Checks shared by the wire models."""

from __future__ import annotations

from urllib.parse import urlsplit

ALLOWED_URL_SCHEMES = ("http", "https")
RUN_WITH = ("code", "agent")


def check_http_url(url: str) -> str:
    """Return ``url`` stripped, or raise ValueError saying what is wrong with it."""
    url = url.strip()
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(url)
    if not parts.scheme:
        raise ValueError(f"{url!r} has no scheme; use http:// or https://")
    if parts.scheme.lower() not in ALLOWED_URL_SCHEMES:
        raise ValueError(f"scheme {parts.scheme!r} is not allowed; use http:// or https://")
    if not parts.hostname:
        raise ValueError(f"{url!r} has no host")
    return url


def check_run_with(value: str | None) -> str | None:
    if value is not None and value not in RUN_WITH:
        raise ValueError("must be 'code' or 'agent'")
    return value
