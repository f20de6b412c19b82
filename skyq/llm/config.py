"""Which model a run talks to. Cheap to call: it never imports litellm."""

from __future__ import annotations

from dataclasses import dataclass, replace

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


@dataclass(frozen=True)
class ScreenModels:
    """A computer-use run's two models: the one that drives the screen, and the text
    model that shapes the output to the schema (SKYQ_LLM_MODEL when set)."""

    driver: ModelConfig
    text: ModelConfig


def screen_models(settings: Settings, engine: str, override: str | None = None) -> ScreenModels:
    """``engine`` is a computer-use engine's wire name (openai-cua, anthropic-cua, ui-tars)."""
    choices = {
        "openai-cua": (settings.openai_cua_model, settings.openai_cua_api_base, "OPENAI_CUA"),
        "anthropic-cua": (
            settings.anthropic_cua_model,
            settings.anthropic_cua_api_base,
            "ANTHROPIC_CUA",
        ),
        "ui-tars": (settings.ui_tars_model, settings.ui_tars_api_base, "UI_TARS"),
    }
    model, api_base, variable = choices[engine]
    model = (override or model).strip()
    if not model:
        raise ConfigurationError(
            f"engine {engine!r} has no model: set SKYQ_{variable}_MODEL "
            f"(and SKYQ_{variable}_API_BASE for a server of your own)"
        )
    if api_base and "/" not in model:
        model = f"openai/{model}"
    if api_base and engine == "anthropic-cua":
        # litellm adds /v1/messages to the base itself: a base given as Anthropic's
        # documented endpoint (.../v1 or .../v1/messages) would be asked twice over.
        api_base = api_base.rstrip("/").removesuffix("/messages").removesuffix("/v1")
    driver = ModelConfig(
        model=model,
        api_base=api_base or None,
        api_key=settings.llm_api_key if api_base else None,
        timeout_seconds=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
    )
    if settings.llm_model.strip():
        return ScreenModels(driver, resolve_model(settings))
    if engine == "openai-cua":
        # computer-use-preview answers only the Responses API: the text model is
        # OpenAI's small chat model on the same account.
        return ScreenModels(driver, replace(driver, model="openai/gpt-4.1-mini"))
    return ScreenModels(driver, driver)
