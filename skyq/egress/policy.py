"""Which addresses a run may reach.

Blocked unless allowed: loopback, private, link-local (cloud metadata at
169.254.169.254), carrier-grade NAT, multicast, reserved and unspecified addresses, in
IPv4 and IPv6, including IPv4-mapped and NAT64 forms of them. A name is resolved and
blocked if any answer is blocked (a name with one public and one private answer is a
rebinding trick). The address checked is the address dialled, so a DNS answer that
changes between check and connect cannot slip through.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from skyq.errors import SkyqError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class EgressBlocked(SkyqError):
    """A destination the egress policy refuses; the message says why."""


class UnresolvableHost(EgressBlocked):
    """The name has no address: not a policy matter, but nothing to dial either."""


def _embedded_ipv4(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_public(address: Address) -> bool:
    address = _embedded_ipv4(address)
    if address in _CGNAT:
        return False
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class _Allowed:
    network: Network | None
    host: str | None
    port: int | None

    def matches(self, host: str, address: Address | None, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host is not None:
            return host.lower().rstrip(".") == self.host
        return address is not None and self.network is not None and address in self.network


def _parse_allow(entry: str) -> _Allowed:
    entry = entry.strip()
    with contextlib.suppress(ValueError):  # a CIDR or a bare address
        return _Allowed(ipaddress.ip_network(entry, strict=False), None, None)
    host, port = entry, None
    if entry.count(":") == 1 or (entry.startswith("[") and "]:" in entry):
        host, _, port_text = entry.rpartition(":")
        port = int(port_text)
    host = host.strip("[]")
    try:
        return _Allowed(ipaddress.ip_network(host), None, port)
    except ValueError:
        return _Allowed(None, host.lower().rstrip("."), port)


class EgressPolicy:
    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allow = tuple(_parse_allow(entry) for entry in allow if entry.strip())

    def _allowed(self, host: str, address: Address | None, port: int) -> bool:
        return any(rule.matches(host, address, port) for rule in self.allow)

    def check_address(self, host: str, address: Address, port: int) -> None:
        if is_public(address) or self._allowed(host, address, port):
            return
        raise EgressBlocked(f"{host}:{port} resolves to {address}, a non-public address")

    async def resolve(self, host: str, port: int) -> list[Address]:
        """Every address ``host`` resolves to, each one checked; raises EgressBlocked."""
        host = host.strip("[]")
        if self._allowed(host, None, port):
            # An allowed name is the operator's choice: resolve it, trust its answers.
            return await _lookup(host, port)
        addresses = await _lookup(host, port)
        for address in addresses:
            self.check_address(host, address, port)
        return addresses


async def _lookup(host: str, port: int) -> list[Address]:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        answers = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableHost(f"{host} cannot be resolved ({exc})") from None
    found: list[Address] = []
    for family, _, _, _, sockaddr in answers:
        if family in (socket.AF_INET, socket.AF_INET6):
            address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
            if address not in found:
                found.append(address)
    if not found:
        raise UnresolvableHost(f"{host} has no address")
    return found
