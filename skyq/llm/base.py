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
