"""The outer loop every engine shares: open the start page, then take steps until one
ends the run, the caller cancels, the run's time limit passes or max_steps is spent.
Cancel and the time limit are checked between steps, the same way on every engine."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from skyq.agent.page import PageDriver
from skyq.agent.recorder import RunRecorder
from skyq.agent.task import AgentResult, AgentTask
from skyq.errors import InfrastructureError, NavigationError, SkyqError
from skyq.schemas import RunStatus

Step = Callable[[int], Awaitable[AgentResult | None]]


async def run_steps(
    task: AgentTask, page: PageDriver, recorder: RunRecorder, step: Step
) -> AgentResult:
    taken: list[int] = []

    async def counted(order: int) -> AgentResult | None:
        taken.append(order)
        return await step(order)

    result = await _steps(task, page, recorder, counted)
    return replace(result, last_step=taken[-1] if taken else None)


async def _steps(
    task: AgentTask, page: PageDriver, recorder: RunRecorder, step: Step
) -> AgentResult:
    started = task.started_at if task.started_at is not None else time.monotonic()
    limit = task.time_limit_seconds
    try:
        if task.url and task.open_url:
            await page.goto(task.url)
        first = task.first_step
        for order in range(first, first + task.max_steps):
            if recorder.cancel_requested():
                return AgentResult(RunStatus.canceled, failure_reason="canceled by the caller")
            if limit is not None and time.monotonic() - started > limit:
                return AgentResult(
                    RunStatus.timed_out, failure_reason=f"run time limit ({limit:g}s) reached"
                )
            result = await step(order)
            if result is not None:
                return result
    except NavigationError as exc:
        return AgentResult(RunStatus.failed, failure_reason=str(exc))
    except InfrastructureError:
        raise  # not the task's failure: this attempt is given up, the run goes on
    except SkyqError as exc:
        return AgentResult(RunStatus.failed, failure_reason=str(exc))
    return AgentResult(
        RunStatus.timed_out,
        failure_reason=f"reached max_steps ({task.max_steps}) before the task was done",
    )
