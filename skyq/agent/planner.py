"""skyvern-2.0: a planner call splits the task into ordered sub-goals, the skyvern-1.0
loop carries out each on the page the last one left, and a sub-goal that fails is
planned around (up to ``max_replans`` times) from the page as it is.

The plan is a step of its own, recorded as a ``plan`` action, so the timeline shows
the sub-goals and every re-plan. Plan steps take a step number but not the budget:
``max_steps`` counts the browser steps, shared by all sub-goals, as ``time_limit``
does the time. The last sub-goal of the plan carries the schema, so the output is
shaped exactly as skyvern-1.0 shapes it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from skyq.agent import prompts
from skyq.agent.actions import PlanAction
from skyq.agent.asking import SCHEMA_FAILURE, ModelCalls
from skyq.agent.page import ActionOutcome, PageDriver, redact, scrub
from skyq.agent.recorder import RunRecorder, StepReport
from skyq.agent.replies import ProtocolViolation, parse_json
from skyq.agent.task import AgentResult, AgentTask
from skyq.errors import InfrastructureError, SkyqError
from skyq.llm.base import Message, Usage
from skyq.schemas import RunStatus

MAX_SUB_GOALS = 12
PLAN_SYSTEM = """skyq-request: plan
You plan a browser task for a step agent that acts on one page at a time. Split the
TASK into the fewest ordered SUB-GOALS, each one a task the agent can finish and check
on its own, in the order they must happen (log in, then search, then open the result,
then read the data). A task that is a single goal stays ONE sub-goal, word for word.
When some sub-goals are done and one FAILED, plan the rest from the CURRENT PAGE: the
sub-goals still to do, another way around the failure where there is one.
Answer with ONE JSON object and nothing else:
{"sub_goals": ["...", "..."], "impossible": null}
When the task cannot be done at all, answer {"sub_goals": [], "impossible": "why"}."""


@dataclass(frozen=True)
class Plan:
    sub_goals: list[str]
    impossible: str | None = None


def parse_plan(text: str) -> Plan:
    data = parse_json(text)
    if not isinstance(data, dict) or not isinstance(data.get("sub_goals"), list):
        raise ProtocolViolation('the reply must be {"sub_goals": [...], "impossible": ...}')
    goals = [str(g).strip() for g in data["sub_goals"] if str(g).strip()]
    impossible = data.get("impossible")
    if not goals and not impossible:
        raise ProtocolViolation("the plan lists no sub-goals and does not say why")
    if len(goals) > MAX_SUB_GOALS:
        raise ProtocolViolation(f"at most {MAX_SUB_GOALS} sub-goals")
    return Plan(goals, str(impossible) if impossible and not goals else None)


class Runnable(Protocol):
    async def run(self) -> AgentResult: ...


@dataclass(frozen=True)
class Done:
    goal: str
    output: Any


class Planner:
    def __init__(
        self,
        task: AgentTask,
        *,
        calls: ModelCalls,
        make_agent: Callable[[AgentTask], Runnable],
        page: PageDriver,
        recorder: RunRecorder,
        max_replans: int,
    ) -> None:
        self.task = task
        self.calls = calls
        self.make_agent = make_agent
        self.page = page
        self.recorder = recorder
        self.max_replans = max_replans
        self.secrets = frozenset(v for v in task.secrets.values() if v)
        self._order = task.first_step
        self._steps_left = task.max_steps

    async def run(self) -> AgentResult:
        started = time.monotonic()
        try:
            if self.task.url and self.task.open_url:
                await self.page.goto(self.task.url)
            return await self._carry_out(started)
        except InfrastructureError:
            raise
        except SkyqError as exc:
            return AgentResult(RunStatus.failed, failure_reason=str(exc))

    async def _carry_out(self, started: float) -> AgentResult:
        done: list[Done] = []
        plan = await self._plan(done, failure=None, replan=0)
        replans = 0
        while True:
            if plan.impossible:
                return AgentResult(RunStatus.terminated, failure_reason=plan.impossible)
            goal, rest = plan.sub_goals[0], plan.sub_goals[1:]
            result = await self._sub_goal(goal, done, last=not rest, started=started)
            if result.status == RunStatus.completed:
                done.append(Done(goal, result.output))
                if not rest:
                    return result
                plan = Plan(rest)
                continue
            if not self._can_replan(result, replans):
                return result
            replans += 1
            failure = f"{goal}: {result.failure_reason or result.status.value}"
            plan = await self._plan(done, failure=failure, replan=replans)

    def _can_replan(self, result: AgentResult, replans: int) -> bool:
        """A sub-goal the agent gave up on, or that broke on the page, is planned around;
        a matched error code, an output off the schema (after its repair round), a
        cancel and a spent budget end the run as they would on skyvern-1.0."""
        if replans >= self.max_replans or self._steps_left <= 0:
            return False
        if result.errors or (result.failure_reason or "").startswith(SCHEMA_FAILURE):
            return False
        return result.status in (RunStatus.terminated, RunStatus.failed)

    async def _sub_goal(
        self, goal: str, done: list[Done], *, last: bool, started: float
    ) -> AgentResult:
        sub = replace(
            self.task,
            prompt=self._prompt(goal, done),
            open_url=False,  # each goes on from the page the last one left
            max_steps=self._steps_left,
            first_step=self._order,
            schema=self.task.schema if last else None,
            started_at=started,
        )
        result = await self.make_agent(sub).run()
        if result.last_step is not None:
            self._steps_left -= result.last_step - self._order + 1
            self._order = result.last_step + 1
        return result

    def _prompt(self, goal: str, done: list[Done]) -> str:
        if goal == self.task.prompt:
            return goal
        lines = [goal, "", f"This is part of the overall task: {self.task.prompt}"]
        if done:
            lines.append("Already done: " + "; ".join(d.goal for d in done))
        # Data read on an earlier page is gone from the page the last sub-goal ends on:
        # the sub-goals after it are told it, so that the output can hold it.
        found = [d for d in done if d.output is not None]
        if found:
            lines.append("Found so far:")
            lines.extend(
                f"- {d.goal}: {scrub(json.dumps(d.output, ensure_ascii=False), self.secrets)}"
                for d in found
            )
        return "\n".join(lines)

    async def _plan(self, done: list[Done], *, failure: str | None, replan: int) -> Plan:
        step_started = time.monotonic()
        order = self._order
        self._order += 1
        url = scrub(self.page.url, self.secrets)
        step_id = self.recorder.start_step(order, url)
        status, usage = "failed", Usage()
        try:
            messages = await self._plan_messages(done, failure)
            plan, usage = await self.calls.ask(step_id, messages, parse_plan)
            action = PlanAction(
                sub_goals=plan.sub_goals, replan=replan, reasoning=plan.impossible or failure
            )
            self.recorder.record_action(
                step_id, 1, action, ActionOutcome(ok=True), f"{len(plan.sub_goals)} sub-goals"
            )
            status = "completed"
            return plan
        finally:
            self.recorder.finish_step(step_id, status, usage)
            self.recorder.step_finished(
                StepReport(
                    order=order,
                    max_steps=self.task.max_steps,
                    actions=(("plan", None),),
                    url=url,
                    elapsed_seconds=time.monotonic() - step_started,
                    usage=usage,
                )
            )

    async def _plan_messages(self, done: list[Done], failure: str | None) -> list[Message]:
        parts = [f"START URL: {self.task.url or '(none)'}"]
        if done or failure:
            obs = redact(await self.page.observe(scrolls=0), self.secrets)
            parts.append(prompts.page_header(obs))
            parts.append("PAGE:\n" + prompts.page_listing(obs, self.task.max_prompt_chars))
            if done:
                parts.append("DONE:\n" + "\n".join(f"- {d.goal}" for d in done))
            if failure:
                parts.append(f"FAILED: {failure}")
        parts.append(f"TASK:\n{self.task.prompt}")
        return [
            {"role": "system", "content": PLAN_SYSTEM},
            {"role": "user", "content": "\n\n".join(parts)},
        ]
