"""The three wire formats the fake LLM server speaks, checked as the providers check
them: OpenAI chat completions, OpenAI's Responses API with the computer-use tool, and
Anthropic's Messages API with the computer tool.

``check`` refuses a request the real API would refuse (a computer call left without
its output, a safety check not acknowledged, a tool_use without its tool_result), so a
test fails on a protocol mistake, not only on a wrong result. ``answer`` wraps a
script's reply in the provider's response envelope.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fake_llm import Call

OPENAI_TOOLS = ("computer_use_preview", "computer")
ANTHROPIC_BETAS = {
    "computer_20241022": "computer-use-2024-10-22",
    "computer_20250124": "computer-use-2025-01-24",
    "computer_20251124": "computer-use-2025-11-24",
}
USAGE = {"input": 100, "output": 20}


class ProtocolError(AssertionError):
    """The request breaks the provider's protocol."""


class Providers:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        # response id -> its computer calls: call_id -> pending safety check ids
        self._responses: dict[str, dict[str, set[str]]] = {}

    def check(self, call: Call) -> None:
        if call.kind == "openai-cua":
            self._check_responses(call.body)
        elif call.kind == "anthropic-cua":
            _check_messages(call)
        else:
            _check_chat(call.body)

    def answer(self, call: Call, reply: Any) -> dict[str, Any]:
        if call.kind == "openai-cua":
            return self._response(call.body, reply)
        if call.kind == "anthropic-cua":
            return self._message(call.body, reply)
        content = reply if isinstance(reply, str) else json.dumps(reply)
        return _completion(call.body.get("model", "fake"), content)

    # OpenAI Responses API -------------------------------------------------------

    def _check_responses(self, body: dict[str, Any]) -> None:
        tools = body.get("tools") or []
        computer = [t for t in tools if t.get("type") in OPENAI_TOOLS]
        _require(len(computer) == 1, f"tools must hold one computer tool: {tools}")
        tool = computer[0]
        if tool["type"] == "computer":  # the GA tool takes no other field
            _require(tool == {"type": "computer"}, f"the computer tool is only its type: {tool}")
        else:
            for key in ("display_width", "display_height"):
                _require(isinstance(tool.get(key), int) and tool[key] > 0, f"tool.{key} missing")
            _require(tool.get("environment") == "browser", "tool.environment must be 'browser'")
        _require(body.get("truncation") == "auto", "computer use requires truncation='auto'")
        items = body.get("input")
        _require(isinstance(items, list) and bool(items), "input must be a non-empty list")
        previous = body.get("previous_response_id")
        if previous is None:
            first = items[0]
            _require(first.get("role") == "user", "the first input must be a user message")
            return
        _require(previous in self._responses, f"unknown previous_response_id {previous!r}")
        outputs = {i.get("call_id"): i for i in items if i.get("type") == "computer_call_output"}
        for call_id, checks in self._responses[previous].items():
            _require(call_id in outputs, f"computer_call {call_id} has no computer_call_output")
            output = outputs[call_id].get("output") or {}
            _require(
                output.get("type") == "computer_screenshot"
                and str(output.get("image_url", "")).startswith("data:image/"),
                "a computer_call_output's output must be a computer_screenshot data URL",
            )
            acknowledged = {
                c.get("id") for c in outputs[call_id].get("acknowledged_safety_checks") or []
            }
            _require(
                checks <= acknowledged, f"safety checks {checks - acknowledged} not acknowledged"
            )

    def _response(self, body: dict[str, Any], reply: Any) -> dict[str, Any]:
        output = reply["output"] if isinstance(reply, dict) else list(reply)
        response_id = f"resp_{next(self._ids)}"
        calls: dict[str, set[str]] = {}
        for item in output:
            item.setdefault("id", f"item_{next(self._ids)}")
            item.setdefault("status", "completed")
            if item.get("type") == "computer_call":
                item.setdefault("call_id", f"call_{next(self._ids)}")
                item.setdefault("pending_safety_checks", [])
                calls[item["call_id"]] = {c["id"] for c in item["pending_safety_checks"]}
            if item.get("type") == "message":
                item.setdefault("role", "assistant")
        self._responses[response_id] = calls
        return {
            "id": response_id,
            "object": "response",
            "created_at": int(time.time()),
            "status": "completed",
            "model": body.get("model"),
            "output": output,
            "usage": {
                "input_tokens": USAGE["input"],
                "output_tokens": USAGE["output"],
                "total_tokens": USAGE["input"] + USAGE["output"],
            },
        }

    # Anthropic Messages API -----------------------------------------------------

    def _message(self, body: dict[str, Any], reply: Any) -> dict[str, Any]:
        content = reply["content"] if isinstance(reply, dict) else list(reply)
        for block in content:
            if block.get("type") == "tool_use":
                block.setdefault("id", f"toolu_{next(self._ids)}")
                block.setdefault("name", "computer")
        uses = any(b.get("type") == "tool_use" for b in content)
        return {
            "id": f"msg_{next(self._ids)}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": content,
            "stop_reason": "tool_use" if uses else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": USAGE["input"], "output_tokens": USAGE["output"]},
        }


def _check_messages(call: Call) -> None:
    body = call.body
    _require(call.path == "/v1/messages", f"Messages API path, not {call.path}")
    _require(bool(call.headers.get("anthropic-version")), "anthropic-version header missing")
    _require(isinstance(body.get("max_tokens"), int), "max_tokens is required")
    tools = [t for t in body.get("tools") or [] if t.get("type") in ANTHROPIC_BETAS]
    _require(len(tools) == 1 and tools[0].get("name") == "computer", "one computer tool")
    beta = ANTHROPIC_BETAS[tools[0]["type"]]
    _require(
        beta in call.headers.get("anthropic-beta", ""),
        f"the {tools[0]['type']} tool needs anthropic-beta: {beta}",
    )
    for key in ("display_width_px", "display_height_px"):
        _require(isinstance(tools[0].get(key), int), f"tool.{key} missing")
    messages = body.get("messages") or []
    _require(bool(messages) and messages[0]["role"] == "user", "messages start with user")
    for before, after in itertools.pairwise(messages):
        _require(before["role"] != after["role"], "user and assistant must alternate")
        if before["role"] != "assistant":
            continue
        used = [b["id"] for b in before["content"] if b.get("type") == "tool_use"]
        if not used:
            continue
        blocks = after["content"] if isinstance(after["content"], list) else []
        results = [
            b.get("tool_use_id") for b in blocks[: len(used)] if b.get("type") == "tool_result"
        ]
        _require(
            results == used, f"tool_use {used} must be answered first by tool_result {results}"
        )
    for message in messages:
        for block in message["content"] if isinstance(message["content"], list) else []:
            for part in [
                block,
                *(block.get("content") or [] if block.get("type") == "tool_result" else []),
            ]:
                if part.get("type") == "image":
                    source = part.get("source") or {}
                    _require(
                        source.get("type") == "base64"
                        and source.get("media_type") in ("image/jpeg", "image/png")
                        and bool(source.get("data")),
                        "an image block needs a base64 source",
                    )


# OpenAI chat completions ---------------------------------------------------------


def _check_chat(body: dict[str, Any]) -> None:
    messages = body.get("messages")
    _require(isinstance(messages, list) and bool(messages), "messages must be a non-empty list")
    for message in messages:
        _require(
            message.get("role") in ("system", "user", "assistant"), f"role {message.get('role')!r}"
        )
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if part.get("type") == "image_url":
                    url = (part.get("image_url") or {}).get("url", "")
                    _require(url.startswith("data:image/"), "image_url must be a data URL")


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": USAGE["input"],
            "completion_tokens": USAGE["output"],
            "total_tokens": USAGE["input"] + USAGE["output"],
        },
    }


def _require(condition: bool, problem: str) -> None:
    if not condition:
        raise ProtocolError(problem)
