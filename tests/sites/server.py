"""Serves the fixture sites on loopback, plus a few routes that misbehave on purpose."""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp

SITES = Path(__file__).parent
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DP"
ACCOUNT_PASSWORD = "correct horse battery"

NEVER_LOADS_HEAD = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Still loading</title></head>"
    "<body><h1>Partial page</h1><p>The rest of this page never arrives.</p>"
    "<button onclick=\"this.textContent='Continued'\">Continue anyway</button>"
    f"<!-- {'padding ' * 300} -->"
)


@dataclass
class SeenRequest:
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class FixtureHandler(SimpleHTTPRequestHandler):
    """Static files, and the special routes in ``ROUTES``."""

    sites: FixtureSites

    def log_message(self, *_args: Any) -> None:
        """Quiet: the tests read what they need from their own records."""

    def do_GET(self) -> None:
        self.sites.requests.append(SeenRequest(self.path, dict(self.headers.items())))
        for prefix, route in ROUTES.items():
            if self.path.startswith(prefix):
                route(self)
                return
        # A page that changed since a workflow was recorded on it.
        path, _, query = self.path.partition("?")
        if path in self.sites.variants:
            self.path = self.sites.variants[path] + (f"?{query}" if query else "")
        super().do_GET()

    def do_POST(self) -> None:
        """The account sign-in form, or the totp_url endpoint: it answers the current
        code of the fixture's secret."""
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path.startswith("/account/login"):
            self.account_login(body)
            return
        self.sites.totp_requests.append(SeenRequest(self.path, dict(self.headers.items()), body))
        code = self.sites.totp.now()
        self.sites.codes_served.append(code)
        self._send(200, "application/json", json.dumps({"verification_code": code}).encode())

    def _send(self, status: int, kind: str, data: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(data)

    def _query(self, name: str) -> str:
        return parse_qs(urlsplit(self.path).query).get(name, [""])[0]

    def never_loads(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(NEVER_LOADS_HEAD.encode())
        self.wfile.flush()
        self.sites.stopping.wait(120)

    def endless_download(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/octet-stream")
        self.send_header("content-disposition", "attachment; filename=endless.bin")
        self.end_headers()
        while not self.sites.stopping.wait(0.05):
            try:
                self.wfile.write(b"x" * 1024)
            except OSError:
                return

    def redirect_loop(self) -> None:
        self._send(302, "text/plain", b"", location="/loop302")

    def redirect(self) -> None:
        self._send(302, "text/plain", b"", location=self._query("to") or "/")

    def verify_code(self) -> None:
        ok = self.sites.totp.verify(self._query("code"), valid_window=1)
        text = "Welcome back, you are signed in." if ok else "Wrong code, try again."
        page = f"<!doctype html><html><head><meta charset='utf-8'></head><body><h1>{text}</h1>"
        self._send(200, "text/html; charset=utf-8", page.encode())

    def account_login(self, body: bytes) -> None:
        """Signs in alice (password in ACCOUNT_PASSWORD) with a session cookie."""
        form = parse_qs(body.decode())
        if form.get("user") == ["alice"] and form.get("pass") == [ACCOUNT_PASSWORD]:
            token = secrets.token_hex(8)
            self.sites.account_sessions.add(token)
            self._send(303, "text/plain", b"", location="/account", set_cookie=f"sid={token}")
            return
        self._send(303, "text/plain", b"", location="/signin.html?error=1")

    def account(self) -> None:
        """The signed-in page; without the cookie, a pointer to the sign-in form."""
        cookies = dict(
            part.strip().split("=", 1)
            for part in self.headers.get("cookie", "").split(";")
            if "=" in part
        )
        if cookies.get("sid") in self.sites.account_sessions:
            text = "<h1>Signed in as alice</h1><p>Balance: $42.00</p>"
        else:
            text = "<h1>Please sign in</h1><a href='/signin.html'>Sign in</a>"
        head = "<!doctype html><html><head><meta charset='utf-8'><title>Account</title></head>"
        page = f"{head}<body>{text}"
        self._send(200, "text/html; charset=utf-8", page.encode())


ROUTES = {
    "/never-loads": FixtureHandler.never_loads,
    "/endless.bin": FixtureHandler.endless_download,
    "/loop302": FixtureHandler.redirect_loop,
    "/redirect": FixtureHandler.redirect,
    "/2fa/verify": FixtureHandler.verify_code,
    "/account": FixtureHandler.account,
}


class FixtureSites:
    """``url(path)`` for a page; ``requests`` lists what the browser asked for."""

    def __init__(self) -> None:
        self.requests: list[SeenRequest] = []
        self.totp = pyotp.TOTP(TOTP_SECRET)
        self.codes_served: list[str] = []
        self.totp_requests: list[SeenRequest] = []
        self.account_sessions: set[str] = set()
        self.variants: dict[str, str] = {}  # path -> the file served there instead
        self.stopping = threading.Event()
        handler = type("Handler", (FixtureHandler,), {"sites": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(SITES)))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{path.lstrip('/')}"

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
