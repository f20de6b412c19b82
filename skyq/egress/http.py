"""HTTP calls skyq makes for a run (webhooks, totp_url, upload_file fetches), under the
same policy as the browser: the name is resolved and checked, and the checked address
is dialled (the name still goes in the Host header and, for https, in SNI and the
certificate check). Redirects are followed only when asked, each hop checked again."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from skyq.egress.policy import EgressBlocked, EgressPolicy

REDIRECTS = (301, 302, 303, 307, 308)


async def _pinned(
    policy: EgressPolicy | None, url: str
) -> tuple[str, dict[str, str], dict[str, Any]]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EgressBlocked(f"{url[:100]} is not an http(s) URL")
    if policy is None:
        return url, {}, {}
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = (await policy.resolve(parts.hostname, port))[0]
    host = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
    pinned = urlunsplit(parts._replace(netloc=f"{host}:{port}"))
    name = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return pinned, {"Host": name}, extensions


async def request(
    policy: EgressPolicy | None,
    method: str,
    url: str,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
    max_redirects: int = 0,
) -> httpx.Response:
    """One request (and up to ``max_redirects`` checked hops); the body is read.
    Raises EgressBlocked for a refused destination, httpx errors as they come."""
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        for _ in range(max_redirects + 1):
            pinned, host_header, extensions = await _pinned(policy, url)
            response = await client.request(
                method,
                pinned,
                content=content,
                headers={**(headers or {}), **host_header},
                extensions=extensions,
            )
            location = response.headers.get("location")
            if response.status_code not in REDIRECTS or not location or max_redirects == 0:
                return response
            url = urljoin(url, location)
            method, content = ("GET", None) if response.status_code == 303 else (method, content)
        return response
