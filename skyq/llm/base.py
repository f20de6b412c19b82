"""The LLM seam: one async method. litellm lives behind it in skyq.llm.litellm_client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

Message = dict[str, Any]


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cost + other.cost,
        )


@dataclass(frozen=True)
class LLMReply:
    content: str
    usage: Usage
    model: str


class LLM(Protocol):
    model: str

    async def complete(self, messages: list[Message], *, json_mode: bool = True) -> LLMReply:
        """One chat completion. Transient failures are retried inside; raises LLMError."""
        ...


@dataclass(frozen=True)
class RawReply:
    """A provider-format reply (a Responses API response, an Anthropic message) as a
    dict, with its usage read off."""

    body: dict[str, Any]
    usage: Usage


class ToolLLM(LLM, Protocol):
    """The computer-use protocols, each in its provider's own request format."""

    async def respond(self, request: dict[str, Any]) -> RawReply:
        """One OpenAI Responses API call (``input``, ``tools``, ``previous_response_id``)."""
        ...

    async def messages(self, request: dict[str, Any]) -> RawReply:
        """One Anthropic Messages API call (``messages``, ``tools``, ``max_tokens``)."""
        ...
