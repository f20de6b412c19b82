"""proxy_location -> the proxy a run's browser context uses.

Named locations (Skyvern's ``RESIDENTIAL``, ``US-CA``, ...) map to proxy URLs the
operator configures (``SKYQ_PROXY_LOCATIONS='{"RESIDENTIAL": "http://u:p@host:port"}'``);
``{"url": ...}`` names a proxy directly; ``NONE`` or nothing goes direct. Anything
else is refused with the field named, never silently run without the proxy asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from skyq.errors import InvalidRequestError

PROXY_SCHEMES = ("http", "https", "socks5")


@dataclass(frozen=True)
class Proxy:
    server: str
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # credentials stay out of logs
        return f"Proxy(server={self.server!r})"

    def playwright(self) -> dict[str, str]:
        options = {"server": self.server}
        if self.username is not None:
            options["username"] = self.username
            options["password"] = self.password or ""
        return options


def parse_proxy_url(url: str) -> Proxy:
    parts = urlsplit(url.strip())
    if parts.scheme not in PROXY_SCHEMES or not parts.hostname or not parts.port:
        raise ValueError(
            f"a proxy URL looks like http://user:pass@host:port, not {parts.scheme}://..."
        )
    server = f"{parts.scheme}://{parts.hostname}:{parts.port}"
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return Proxy(server, username, password)


def resolve_proxy(location: str | dict[str, Any] | None, named: dict[str, str]) -> Proxy | None:
    """The proxy for a request's ``proxy_location``; raises InvalidRequestError."""
    if location is None or location == "NONE":
        return None
    if isinstance(location, str):
        if location not in named:
            configured = ", ".join(sorted(named)) or "none are configured"
            raise InvalidRequestError(
                "proxy_location", f"unknown proxy location {location!r} ({configured})"
            )
        return parse_proxy_url(named[location])
    url = location.get("url")
    if not isinstance(url, str):
        raise InvalidRequestError(
            "proxy_location",
            'geo objects are not supported here: use a configured name or {"url": ...}',
        )
    try:
        return parse_proxy_url(url)
    except ValueError as exc:
        raise InvalidRequestError("proxy_location", str(exc)) from None
