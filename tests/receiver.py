"""A webhook receiver on loopback that can be told to fail its first few deliveries."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self, fail_first: int = 0) -> None:
        self.deliveries: list[Delivery] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                """Quiet: the tests read what they need from their own records."""

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status = 500 if len(receiver.deliveries) < receiver.fail_first else 200
                receiver.deliveries.append(Delivery(dict(self.headers.items()), body, status))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def delivered(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.answered == 200]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
