"""An OpenAI-compatible chat server on loopback that answers from a script.

It is the one stand-in of the integration tests: skyq reaches it through litellm's real
HTTP path (``SKYQ_LLM_API_BASE``). Every request is kept for assertions.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fake_llm_wire import Providers

_KIND = re.compile(r"skyq-request: (\w+)")


@dataclass
class Call:
    """One model request as the fake server received it: a chat completion, an OpenAI
    Responses API call or an Anthropic Messages API call."""

    body: dict[str, Any]
    path: str = "/v1/chat/completions"
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    @property
    def kind(self) -> str:
        if self.path.endswith("/responses"):
            return "openai-cua"
        if self.path.endswith("/messages"):
            return "anthropic-cua"
        first = str(self.messages[0]["content"]) if self.messages else ""
        if first.startswith("You are a GUI agent"):
            return "ui-tars"
        found = _KIND.search(first)
        return found.group(1) if found else "unknown"

    @property
    def text(self) -> str:
        """All text of the user messages, images left out."""
        parts = []
        for message in self.messages:
            if message["role"] != "user":
                continue
            content = message["content"]
            if isinstance(content, str):
                parts.append(content)
            else:
                parts.extend(p["text"] for p in content if p.get("type") == "text")
        return "\n".join(parts)

    @property
    def images(self) -> int:
        count = 0
        for message in self.messages:
            if isinstance(message["content"], list):
                count += sum(1 for p in message["content"] if p.get("type") == "image_url")
        return count

    def id_of(self, text: str) -> str:
        """The id of the element line that mentions ``text`` (as a model would find it)."""
        for line in self.text.splitlines():
            found = re.match(r"\s*<\w+ id=(K\d+)[\s>]", line)
            if found and text.lower() in line.lower():
                return found.group(1)
        raise AssertionError(f"no element mentioning {text!r} in:\n{self.text}")


def plan_as_is(call: Call) -> dict[str, Any]:
    """The skyvern-2.0 plan of a one-goal task: the task itself, its one sub-goal."""
    return {"sub_goals": [call.text.split("TASK:\n", 1)[1].strip()]}


class ServerError:
    def __init__(self, status: int, message: str = "scripted failure") -> None:
        self.status = status
        self.message = message


Reply = str | dict[str, Any] | ServerError | Callable[[Call], Any]


class Script:
    """Replies by request kind: ``steps`` in order for step calls, ``extract`` for extract
    calls; verify calls answer ``verify`` (default: goal achieved)."""

    def __init__(
        self,
        steps: list[Reply] | None = None,
        *,
        verify: list[Reply] | None = None,
        extract: list[Reply] | None = None,
        plan: list[Reply] | None = None,
        screen: list[Reply] | None = None,
    ) -> None:
        screen_replies = list(screen or [])
        self.queues = {
            "step": list(steps or []),
            "verify": list(verify or []),
            "extract": list(extract or []),
            "plan": list(plan or []),
            # The computer-use engines' turns, in that engine's own reply format.
            "openai-cua": screen_replies,
            "anthropic-cua": screen_replies,
            "ui-tars": screen_replies,
        }

    def __call__(self, call: Call) -> Any:
        queue = self.queues.get(call.kind)
        if queue is None:
            raise AssertionError(f"unexpected request kind {call.kind!r}")
        if not queue:
            if call.kind == "verify":
                return {"user_goal_achieved": True, "reasoning": "looks done"}
            if call.kind == "plan":
                return plan_as_is(call)
            raise AssertionError(f"script has no more {call.kind} replies")
        reply = queue.pop(0)
        return reply(call) if callable(reply) else reply


class FakeLLM:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.script: Callable[[Call], Any] = Script([])
        self.errors: list[str] = []
        self.delay_seconds = 0.0
        self.protocol = Providers()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                """Quiet: the tests read what they need from their own records."""

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.endswith(("/chat/completions", "/responses", "/messages")):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                call = Call(body, self.path, headers)
                fake.calls.append(call)
                if fake.delay_seconds:
                    time.sleep(fake.delay_seconds)
                try:
                    fake.protocol.check(call)  # a request off the provider's protocol
                    reply = fake.script(call)
                    if not isinstance(reply, ServerError):
                        reply = fake.protocol.answer(call, reply)
                except Exception as exc:  # a broken script must fail the test, loudly
                    fake.errors.append(f"{type(exc).__name__}: {exc}")
                    self._send(500, {"error": {"message": str(exc)}})
                    return
                if isinstance(reply, ServerError):
                    self._send(reply.status, {"error": {"message": reply.message}})
                    return
                self._send(200, reply)

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/v1"

    def reset(self, script: Callable[[Call], Any] | None = None) -> None:
        self.calls.clear()
        self.errors.clear()
        self.delay_seconds = 0.0
        self.protocol = Providers()
        self.script = script or Script([])

    def kinds(self) -> list[str]:
        return [c.kind for c in self.calls]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A worker killed mid-request (a fault test) hangs up on us: not our error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
