"""Which model a run talks to. Cheap to call: it never imports litellm."""

from __future__ import annotations

from dataclasses import dataclass

from skyq.config import Settings
from skyq.errors import ConfigurationError

NO_MODEL = (
    "no model configured: set SKYQ_LLM_MODEL to any litellm model (e.g. gpt-4o-mini with "
    "OPENAI_API_KEY, or anthropic/claude-sonnet-4-5 with ANTHROPIC_API_KEY), or set "
    "SKYQ_LLM_API_BASE to an OpenAI-compatible server (Ollama, vLLM) and SKYQ_LLM_MODEL "
    "to its model name"
)


@dataclass(frozen=True)
class ModelConfig:
    model: str
    api_base: str | None = None
    api_key: str | None = None
    timeout_seconds: float = 120.0
    max_retries: int = 2
    send_screenshots: bool = True

    def __repr__(self) -> str:  # never print the key
        return f"ModelConfig(model={self.model!r}, api_base={self.api_base!r})"


def resolve_model(settings: Settings, override: str | None = None) -> ModelConfig:
    """The run's model: ``override`` (the request's ``model``) or ``SKYQ_LLM_MODEL``."""
    model = (override or settings.llm_model).strip()
    if not model:
        raise ConfigurationError(NO_MODEL)
    api_base = settings.llm_api_base or None
    if api_base and "/" not in model:
        # litellm routes a bare name by provider; against a custom base URL the
        # OpenAI-compatible route is the one that works.
        model = f"openai/{model}"
    return ModelConfig(
        model=model,
        api_base=api_base,
        api_key=settings.llm_api_key,
        timeout_seconds=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
        send_screenshots=settings.llm_send_screenshots,
    )
