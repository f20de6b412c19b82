"""Which site a URL belongs to: secrets and codes are typed only on the run's own."""

from __future__ import annotations

from urllib.parse import urlsplit


def site_of(url: str) -> str | None:
    """The site a secret belongs to: the host for an IP address, else the last two
    labels of the name (login.example.com and example.com are one site)."""
    host = urlsplit(url).hostname
    if not host:
        return None
    labels = host.split(".")
    if host.replace(".", "").isdigit() or ":" in host or len(labels) <= 2:
        return host
    return ".".join(labels[-2:])
