"""The only module that imports litellm. Owns model-call retries."""

from __future__ import annotations

import os
from typing import Any

from skyq.errors import ConfigurationError, LLMError
from skyq.llm.base import LLMReply, Message, RawReply, Usage
from skyq.llm.config import ModelConfig

_litellm: Any = None
# Each version of Anthropic's computer tool is a beta of its own, switched on per request.
ANTHROPIC_COMPUTER_BETAS = {
    "computer_20241022": "computer-use-2024-10-22",
    "computer_20250124": "computer-use-2025-01-24",
    "computer_20251124": "computer-use-2025-11-24",
}


def _load_litellm() -> Any:
    global _litellm
    if _litellm is None:
        # Without this, importing litellm fetches a remote cost map (a network call,
        # then a warning on closed networks); the bundled copy is what we want.
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        litellm.suppress_debug_info = True
        litellm.drop_params = True
        _litellm = litellm
    return _litellm


def preload() -> None:
    """Import litellm now (3-4 s). A worker does this before it forks its children, so
    each child shares the import instead of paying for it in its first run."""
    _load_litellm()


class LiteLLMClient:
    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.model = config.model

    def check_environment(self) -> None:
        """Fail fast, naming the variable, when the provider's key is not set."""
        if self.config.api_base:
            return
        litellm = _load_litellm()
        try:
            report = litellm.validate_environment(model=self.model)
        except Exception as exc:  # litellm raises bare exceptions for unknown providers
            raise ConfigurationError(f"SKYQ_LLM_MODEL={self.model!r}: {exc}") from None
        missing = report.get("missing_keys") or []
        if missing:
            raise ConfigurationError(
                f"SKYQ_LLM_MODEL={self.model!r} needs {', '.join(missing)} in the environment"
            )

    def _common(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "timeout": self.config.timeout_seconds,
            "num_retries": self.config.max_retries,
        }
        if self.config.api_base:
            kwargs["api_base"] = self.config.api_base
            kwargs["api_key"] = self.config.api_key or "skyq-no-key"
        return kwargs

    async def _send(self, call: Any, kwargs: dict[str, Any]) -> Any:
        try:
            return await call(**kwargs)
        except Exception as exc:
            # litellm's exception types wrap every provider's; their text names the
            # provider error. Keys are not part of it.
            raise LLMError(f"model call to {self.model} failed: {_one_line(exc)}") from exc

    async def complete(self, messages: list[Message], *, json_mode: bool = True) -> LLMReply:
        litellm = _load_litellm()
        kwargs = {**self._common(), "messages": messages, "temperature": 0}
        if json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        response = await self._send(litellm.acompletion, kwargs)
        content = response.choices[0].message.content or ""
        usage = getattr(response, "usage", None)
        return LLMReply(
            content=content,
            usage=Usage(
                input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                cost=_cost(litellm, response),
            ),
            model=self.model,
        )

    async def respond(self, request: dict[str, Any]) -> RawReply:
        litellm = _load_litellm()
        response = await self._send(litellm.aresponses, {**self._common(), **request})
        body = response.model_dump(mode="json", exclude_none=True)
        return _raw(litellm, self.model, body)

    async def messages(self, request: dict[str, Any]) -> RawReply:
        litellm = _load_litellm()
        kwargs = {**self._common(), **request}
        betas = [
            ANTHROPIC_COMPUTER_BETAS[t["type"]]
            for t in request.get("tools") or []
            if t.get("type") in ANTHROPIC_COMPUTER_BETAS
        ]
        if betas:
            kwargs["extra_headers"] = {"anthropic-beta": ",".join(betas)}
        body = await self._send(litellm.anthropic.messages.acreate, kwargs)
        if not isinstance(body, dict):
            body = dict(body)
        return _raw(litellm, self.model, body)


def _cost(litellm: Any, response: Any) -> float:
    try:
        return float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:  # models missing from the cost map (local servers) cost nothing known
        return 0.0


def _raw(litellm: Any, model: str, body: dict[str, Any]) -> RawReply:
    """A Responses API or Anthropic reply: both count ``input_tokens``/``output_tokens``."""
    usage = body.get("usage") or {}
    tokens_in = int(usage.get("input_tokens") or 0)
    tokens_out = int(usage.get("output_tokens") or 0)
    cost = _token_cost(litellm, model, tokens_in, tokens_out)
    return RawReply(body, Usage(tokens_in, tokens_out, cost))


def _token_cost(litellm: Any, model: str, tokens_in: int, tokens_out: int) -> float:
    try:
        prompt, completion = litellm.cost_per_token(
            model=model, prompt_tokens=tokens_in, completion_tokens=tokens_out
        )
    except Exception:  # a model missing from the cost map costs nothing known
        return 0.0
    return float(prompt + completion)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text[:300] + "…") if len(text) > 300 else text or type(exc).__name__
