"""EgressProxy: the forward proxy every browser context of a worker goes through.

Validating the start URL is not enough for a real browser: redirects, subresources,
fetch, WebSockets, popups, service workers and DNS rebinding all get around it. So the
browser sends everything here (plain HTTP in absolute form, everything else as CONNECT
tunnels, WebSockets included); each request is checked against its run's policy after
DNS, and the address checked is the address dialled. A context identifies its run by
the proxy credentials it was given, which also names the run's own upstream proxy
(``proxy_location``), if any.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from skyq.egress.policy import EgressBlocked, EgressPolicy, UnresolvableHost
from skyq.proxies import Proxy

log = logging.getLogger(__name__)

HEAD_LIMIT = 64 * 1024
IO_TIMEOUT_SECONDS = 30.0
BLOCKED_HEADER = "x-skyq-egress"


@dataclass
class RunRoute:
    run_id: str
    policy: EgressPolicy
    upstream: Proxy | None = None
    blocked: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


def _parse_head(head: bytes) -> _Request:
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return _Request(method.upper(), target, version, headers)


def _token(request: _Request) -> str | None:
    value = request.header("proxy-authorization") or ""
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(encoded).decode().partition(":")[0]
    except ValueError:
        return None


class EgressProxy:
    def __init__(self) -> None:
        self._routes: dict[str, RunRoute] = {}
        self._server: asyncio.Server | None = None
        self._starting = asyncio.Lock()
        self.port = 0

    async def start(self) -> int:
        async with self._starting:  # runs starting together share one listener
            if self._server is None:
                self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
                self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def register(self, route: RunRoute) -> str:
        token = secrets.token_urlsafe(18)
        self._routes[token] = route
        return token

    def forget(self, token: str) -> None:
        self._routes.pop(token, None)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IO_TIMEOUT_SECONDS)
            request = _parse_head(head[:HEAD_LIMIT])
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            writer.close()
            return
        route = self._routes.get(_token(request) or "")
        if route is None:
            await _answer(
                writer,
                407,
                "proxy credentials required",
                [("Proxy-Authenticate", 'Basic realm="skyq"')],
            )
            return
        try:
            if request.method == "CONNECT":
                await self._tunnel(request, route, reader, writer)
            else:
                await self._forward(request, route, reader, writer, head)
        except UnresolvableHost as exc:
            await _answer(writer, 502, str(exc), [(BLOCKED_HEADER, "ERR_NAME_NOT_RESOLVED")])
        except EgressBlocked as exc:
            route.blocked.append(str(exc))
            log.warning("egress_blocked", extra={"run_id": route.run_id, "reason": str(exc)})
            await _answer(
                writer,
                403,
                f"blocked by skyq's egress policy: {exc}",
                [(BLOCKED_HEADER, "blocked")],
            )
        except (OSError, TimeoutError) as exc:
            # Told apart by a header so the page driver reports what the browser would
            # have said without a proxy in between.
            code = _network_error(exc)
            await _answer(writer, 502, f"cannot connect: {exc}", [(BLOCKED_HEADER, code)])

    async def _dial(
        self, route: RunRoute, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Check the destination, then connect to the address that was checked (or to
        the run's upstream proxy, which resolves the name itself)."""
        addresses = await route.policy.resolve(host, port)
        if route.upstream is not None:
            upstream = urlsplit(route.upstream.server)
            return await asyncio.wait_for(
                asyncio.open_connection(upstream.hostname, upstream.port), IO_TIMEOUT_SECONDS
            )
        return await asyncio.wait_for(
            asyncio.open_connection(str(addresses[0]), port), IO_TIMEOUT_SECONDS
        )

    async def _tunnel(
        self,
        request: _Request,
        route: RunRoute,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        host, _, port_text = request.target.rpartition(":")
        up_reader, up_writer = await self._dial(route, host.strip("[]"), int(port_text))
        if route.upstream is not None:
            up_writer.write(
                f"CONNECT {request.target} HTTP/1.1\r\nHost: {request.target}\r\n".encode()
                + _upstream_auth(route.upstream)
                + b"\r\n"
            )
            await up_writer.drain()
            answer = await asyncio.wait_for(up_reader.readuntil(b"\r\n\r\n"), IO_TIMEOUT_SECONDS)
            writer.write(answer)
            if b" 200 " not in answer.split(b"\r\n", 1)[0] + b" ":
                await writer.drain()
                writer.close()
                up_writer.close()
                return
        else:
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await _splice(reader, writer, up_reader, up_writer)

    async def _forward(
        self,
        request: _Request,
        route: RunRoute,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        head: bytes,
    ) -> None:
        target = urlsplit(request.target)
        if target.scheme != "http" or not target.hostname:
            raise EgressBlocked(f"{request.target[:100]} is not an http URL")
        port = target.port or 80
        up_reader, up_writer = await self._dial(route, target.hostname, port)
        path = target.path or "/"
        if target.query:
            path += "?" + target.query
        line_target = request.target if route.upstream is not None else path
        kept = [
            (k, v)
            for k, v in request.headers
            if k.lower() not in ("proxy-authorization", "proxy-connection", "connection")
        ]
        # One request per connection keeps the relay simple; Chromium just reconnects.
        lines = [f"{request.method} {line_target} {request.version}"]
        lines += [f"{k}: {v}" for k, v in kept] + ["Connection: close"]
        up_writer.write("\r\n".join(lines).encode("latin-1") + b"\r\n")
        if route.upstream is not None:
            up_writer.write(_upstream_auth(route.upstream))
        up_writer.write(b"\r\n")
        length = int(request.header("content-length") or 0)
        if length:
            up_writer.write(await reader.readexactly(length))
        await up_writer.drain()
        await _copy(up_reader, writer)
        up_writer.close()


def _network_error(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "ERR_CONNECTION_REFUSED"
    if isinstance(exc, TimeoutError):
        return "ERR_CONNECTION_TIMED_OUT"
    return "ERR_CONNECTION_FAILED"


def _upstream_auth(upstream: Proxy) -> bytes:
    if upstream.username is None:
        return b""
    pair = f"{upstream.username}:{upstream.password or ''}".encode()
    return b"Proxy-Authorization: Basic " + base64.b64encode(pair) + b"\r\n"


async def _answer(
    writer: asyncio.StreamWriter,
    status: int,
    text: str,
    headers: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> None:
    reasons = {403: "Forbidden", 407: "Proxy Authentication Required", 502: "Bad Gateway"}
    body = text.encode()
    lines = [f"HTTP/1.1 {status} {reasons.get(status, 'Error')}"]
    lines += [f"{k}: {v}" for k, v in headers]
    lines += ["Content-Type: text/plain; charset=utf-8", f"Content-Length: {len(body)}"]
    lines += ["Connection: close"]
    with contextlib.suppress(OSError):
        writer.write("\r\n".join(lines).encode() + b"\r\n\r\n" + body)
        await writer.drain()
    writer.close()


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    with contextlib.suppress(OSError):
        sink.close()


async def _splice(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
) -> None:
    await asyncio.gather(_copy(reader, up_writer), _copy(up_reader, writer))
