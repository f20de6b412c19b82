"""Which loop carries out a run, by its ``engine``. Every engine gets the same page,
recorder, task and budget; they differ in how they talk to their model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from skyq.agent import AgentTask
from skyq.agent.anthropic_cua import AnthropicComputerUse
from skyq.agent.asking import ModelCalls
from skyq.agent.openai_cua import OpenAIComputerUse
from skyq.agent.page import PageDriver
from skyq.agent.planner import Planner, Runnable
from skyq.agent.recorder import CodeSource, RunRecorder
from skyq.agent.screen_loop import ScreenAgent, ScreenModel, instruction
from skyq.agent.ui_tars import UITars
from skyq.config import Settings
from skyq.llm import LLM, ModelConfig, resolve_model
from skyq.llm.base import ToolLLM
from skyq.llm.config import screen_models
from skyq.schemas import RunEngine


@dataclass(frozen=True)
class EngineParts:
    settings: Settings
    page: PageDriver
    recorder: RunRecorder
    codes: CodeSource | None
    # The skyvern-1.0 agent for a task (the runner's, with its files and codes).
    make_agent: Callable[[AgentTask], Runnable]
    llm_factory: Callable[[ModelConfig], LLM]
    tool_llm_factory: Callable[[ModelConfig], ToolLLM]


def engine_for(
    engine: RunEngine, task: AgentTask, parts: EngineParts, model_override: str | None
) -> Runnable:
    settings = parts.settings
    if engine == RunEngine.skyvern_v1:
        return parts.make_agent(task)
    if engine == RunEngine.skyvern_v2:
        text = parts.llm_factory(resolve_model(settings, model_override))
        return Planner(
            task,
            calls=ModelCalls(text, parts.recorder, task.brief(), max_chars=task.max_prompt_chars),
            make_agent=parts.make_agent,
            page=parts.page,
            recorder=parts.recorder,
            max_replans=settings.planner_max_replans,
        )
    models = screen_models(settings, engine.value, model_override)
    driver = parts.tool_llm_factory(models.driver)
    words = instruction(task.brief())
    model: ScreenModel
    if engine == RunEngine.openai_cua:
        model = OpenAIComputerUse(
            driver,
            words,
            acknowledge_safety_checks=settings.cua_acknowledge_safety_checks,
            tool=settings.openai_cua_tool,
        )
    elif engine == RunEngine.anthropic_cua:
        model = AnthropicComputerUse(
            driver,
            words,
            tool=settings.anthropic_cua_tool,
            max_tokens=settings.cua_max_tokens,
            screenshots_kept=settings.cua_screenshots_kept,
        )
    else:
        model = UITars(
            driver,
            words,
            coordinates=settings.ui_tars_coordinates,
            screenshots_kept=settings.cua_screenshots_kept,
        )
    text = parts.llm_factory(models.text)
    return ScreenAgent(
        task,
        model=model,
        calls=ModelCalls(text, parts.recorder, task.brief(), max_chars=task.max_prompt_chars),
        page=parts.page,
        recorder=parts.recorder,
        codes=parts.codes,
        check_answers=not (engine == RunEngine.ui_tars and models.text == models.driver),
    )
