"""Serves the fixture sites on loopback, plus a few routes that misbehave on purpose."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SITES = Path(__file__).parent

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


class FixtureSites:
    """``url(path)`` for a page; ``requests`` lists what the browser asked for."""

    def __init__(self) -> None:
        self.requests: list[SeenRequest] = []
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
                super().do_GET()

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
