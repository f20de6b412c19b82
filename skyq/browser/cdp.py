"""Finding a caller's Chromium from its ``browser_address``, under the egress policy.

The address is the caller's choice and the worker dials it from inside our network, so
every host on the way is checked: the http(s) endpoint asked for its browser's
websocket URL (``/json/version``), and that URL's own host, which the endpoint chooses.
A plain ws:// URL is dialled at the address that was checked (no second DNS answer).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

import httpx

from skyq.egress import EgressBlocked, EgressPolicy
from skyq.egress import http as egress_http
from skyq.errors import BrowserError

VERSION_TIMEOUT_SECONDS = 10.0


async def websocket_url(
    address: str, headers: dict[str, str] | None, policy: EgressPolicy | None
) -> str:
    """The browser's websocket debugger URL for ``address``; raises BrowserError saying
    why it cannot be reached."""
    parts = urlsplit(address)
    if parts.scheme in ("ws", "wss"):
        return await _checked_ws(address, policy)
    try:
        response = await egress_http.request(
            policy,
            "GET",
            address.rstrip("/") + "/json/version",
            headers=headers,
            timeout=VERSION_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
        found = response.json().get("webSocketDebuggerUrl")
    except EgressBlocked as exc:
        raise BrowserError(f"browser_address is blocked by the egress policy: {exc}") from None
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        raise BrowserError(
            f"no DevTools endpoint at {address}: {type(exc).__name__}: {str(exc)[:200]}"
        ) from None
    if not isinstance(found, str) or urlsplit(found).scheme not in ("ws", "wss"):
        raise BrowserError(f"{address}/json/version names no webSocketDebuggerUrl")
    return await _checked_ws(found, policy)


async def _checked_ws(url: str, policy: EgressPolicy | None) -> str:
    parts = urlsplit(url)
    if not parts.hostname:
        raise BrowserError(f"{url[:100]} has no host")
    if policy is None:
        return url
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    try:
        address = (await policy.resolve(parts.hostname, port))[0]
    except EgressBlocked as exc:
        raise BrowserError(f"browser_address is blocked by the egress policy: {exc}") from None
    if parts.scheme == "wss":  # TLS checks the name; the address cannot be pinned
        return url
    host = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
    return urlunsplit(parts._replace(netloc=f"{host}:{port}"))
