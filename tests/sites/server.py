"""Serves the fixture sites on loopback, plus a few routes that misbehave on purpose."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp

SITES = Path(__file__).parent

NEVER_LOADS_HEAD = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Still loading</title></head>"
    "<body><h1>Partial page</h1><p>The rest of this page never arrives.</p>"
    "<button onclick=\"this.textContent='Continued'\">Continue anyway</button>"
    f"<!-- {'padding ' * 300} -->"
)


TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DP"


@dataclass
class SeenRequest:
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class FixtureSites:
    """``url(path)`` for a page; ``requests`` lists what the browser asked for."""

    def __init__(self) -> None:
        self.requests: list[SeenRequest] = []
        self.totp = pyotp.TOTP(TOTP_SECRET)
        self.codes_served: list[str] = []
        self.totp_requests: list[SeenRequest] = []
        self.stopping = threading.Event()
        sites = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:
                sites.requests.append(SeenRequest(self.path, dict(self.headers.items())))
                if self.path.startswith("/never-loads"):
                    self._never_finish()
                    return
                if self.path.startswith("/loop302"):
                    self.send_response(302)
                    self.send_header("location", "/loop302")
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                if self.path.startswith("/redirect"):
                    target = parse_qs(urlsplit(self.path).query).get("to", ["/"])[0]
                    self.send_response(302)
                    self.send_header("location", target)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                if self.path.startswith("/2fa/verify"):
                    code = parse_qs(urlsplit(self.path).query).get("code", [""])[0]
                    ok = sites.totp.verify(code, valid_window=1)
                    text = "Welcome back, you are signed in." if ok else "Wrong code, try again."
                    self._html(f"<h1>{text}</h1>")
                    return
                super().do_GET()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                seen = SeenRequest(self.path, dict(self.headers.items()), body)
                sites.totp_requests.append(seen)
                code = sites.totp.now()
                sites.codes_served.append(code)
                data = json.dumps({"verification_code": code}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _html(self, body: str) -> None:
                head = "<!doctype html><html><head><meta charset='utf-8'></head>"
                data = f"{head}<body>{body}</body></html>"
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(data.encode())))
                self.end_headers()
                self.wfile.write(data.encode())

            def _never_finish(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(NEVER_LOADS_HEAD.encode())
                self.wfile.flush()
                sites.stopping.wait(120)

        handler = partial(Handler, directory=str(SITES))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{path.lstrip('/')}"

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
