"""execute_run: the one run function. The CLI calls it in process; the Celery task
calls it in a worker. It claims the run (compare-and-set), drives the agent in a fresh
browser context, and writes exactly one terminal status."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from skyq.agent import Agent, AgentResult, AgentTask
from skyq.agent.recorder import StepReport
from skyq.browser import BrowserOptions, BrowserRoom, PageTimings, PlaywrightPage
from skyq.config import Settings
from skyq.db import RunStore
from skyq.db.models import Run
from skyq.errors import InvalidRequestError, SkyqError
from skyq.llm import LLM, ModelConfig, resolve_model
from skyq.responses import task_run_response
from skyq.run_recorder import StoredRunRecorder
from skyq.schemas import ArtifactType, RunEngine, RunStatus, TaskRunRequest, TaskRunResponse
from skyq.storage import ArtifactStore

log = logging.getLogger(__name__)

SUPPORTED_ENGINES = frozenset({RunEngine.skyvern_v1})


def default_llm(config: ModelConfig) -> LLM:
    from skyq.llm.litellm_client import LiteLLMClient

    return LiteLLMClient(config)


def ensure_supported(request: TaskRunRequest) -> None:
    """Refuse what skyq cannot do yet, rather than silently doing something else."""
    if request.engine not in SUPPORTED_ENGINES:
        raise InvalidRequestError(
            "engine", f"{request.engine.value!r} is not supported yet; use 'skyvern-1.0'"
        )


def browser_options(settings: Settings) -> BrowserOptions:
    return BrowserOptions(
        executable=settings.chromium_path,
        headless=settings.browser_headless,
        viewport=(settings.viewport_width, settings.viewport_height),
    )


@dataclass
class RunServices:
    """What a process holds for its lifetime and lends to each run."""

    settings: Settings
    store: RunStore
    artifacts: ArtifactStore
    room: BrowserRoom
    llm_factory: Callable[[ModelConfig], LLM] = field(default=default_llm)


async def execute_run(
    run_id: str,
    services: RunServices,
    *,
    on_step: Callable[[StepReport], None] | None = None,
) -> TaskRunResponse:
    store = services.store
    if not store.start_run(run_id):
        # A duplicate delivery, or a run that was canceled or finished: nothing to do.
        log.info("run not started", extra={"run_id": run_id, "reason": "not_startable"})
        return task_run_response(store.get_run(run_id), store, services.artifacts)
    run = store.get_run(run_id)
    recorder = StoredRunRecorder(run, store, services.artifacts, on_step)
    try:
        result = await _drive(run, services, recorder)
    except SkyqError as exc:
        result = AgentResult(RunStatus.failed, failure_reason=str(exc))
    except Exception as exc:
        # A bug must still end the run: a row left 'running' helps nobody.
        log.exception("run crashed", extra={"run_id": run_id})
        result = AgentResult(
            RunStatus.failed, failure_reason=f"internal error: {type(exc).__name__}: {exc}"
        )
    store.finish_run(
        run_id,
        result.status,
        output=result.output,
        failure_reason=result.failure_reason,
        errors=result.errors,
    )
    return task_run_response(store.get_run(run_id), store, services.artifacts)


async def _drive(run: Run, services: RunServices, recorder: StoredRunRecorder) -> AgentResult:
    settings = services.settings
    request = TaskRunRequest.model_validate(run.run_request)
    ensure_supported(request)
    model = resolve_model(settings, request.model_name)
    llm = services.llm_factory(model)
    task = AgentTask(
        prompt=request.prompt,
        url=request.url,
        max_steps=run.max_steps,
        schema=request.data_extraction_schema
        if not isinstance(request.data_extraction_schema, str)
        else None,
        error_codes=dict(request.error_code_mapping or {}),
        include_history_in_verification=bool(request.include_action_history_in_verification),
        screenshot_scrolls=request.max_screenshot_scrolls or 0,
        send_screenshots=model.send_screenshots,
        max_prompt_chars=settings.max_text_chars_in_prompt,
    )
    timings = PageTimings(
        navigation_seconds=settings.navigation_timeout_seconds,
        action_seconds=settings.action_timeout_seconds,
    )
    async with services.room.context(
        user_agent=request.user_agent, extra_http_headers=request.extra_http_headers
    ) as context:
        page = PlaywrightPage(
            await context.new_page(),
            timings,
            max_nodes=settings.max_elements_in_prompt,
            max_text=settings.max_text_chars_in_prompt,
        )
        result = await Agent(task, llm=llm, page=page, recorder=recorder).run()
        with contextlib.suppress(SkyqError):
            shot = await page.screenshot()
            recorder.save_artifact(
                recorder.last_step_id, ArtifactType.screenshot_final, shot, "jpg"
            )
    return result
