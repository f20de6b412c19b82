"""run_with="code": a run that performs a published workflow's code, with no model.

Each statement is one step of the run (its line as the action, a screenshot after it).
Where a statement fails or the output is not where the code reads it, and AI fallback
is on, the agent takes over on the page as it is, with the task's prompt; once it has
done the task, the code is written again from the statements that worked and what the
agent did, as the workflow's next revision.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from typing import Any

from skyq.agent import AgentResult, AgentTask
from skyq.agent.extraction import schema_problems
from skyq.agent.recorder import CodeSource
from skyq.browser import PlaywrightPage
from skyq.browser.script_runner import FetchFile, ScriptStepError, read_output, run_ops
from skyq.db import RunStore
from skyq.db.models import Run, Workflow, WorkflowRevision
from skyq.db.workflow_store import WorkflowStore
from skyq.errors import InvalidRequestError, SkyqError
from skyq.llm.base import Usage
from skyq.publishing import write_code
from skyq.run_recorder import StoredRunRecorder
from skyq.schemas import ArtifactType, RunStatus, RunType, TaskRunRequest
from skyq.sealing import Sealer
from skyq.workflow_runs import fetched_at_run_time, opened
from skyq.workflows.script import Drawn, Op, Script, parse_script

log = logging.getLogger(__name__)

# What the timeline calls each statement.
ACTION_TYPES = {
    "fill": "input_text",
    "select_option": "select_option",
    "press": "keypress",
    "type": "input_text",
    "goto": "goto",
    "wait_for_timeout": "wait",
    "set_input_files": "upload_file",
}


class CodeRunCanceled(SkyqError):
    """The caller canceled the run between two statements."""


@dataclass
class CodePlan:
    """The code a run performs, and the parameter values it performs it with."""

    workflow: Workflow
    revision: WorkflowRevision
    script: Script
    values: dict[str, Any]


def find_code(
    store: RunStore, run: Run, request: TaskRunRequest, sealer: Sealer, *, has_codes: bool
) -> CodePlan | None:
    """The code this run is to perform, or None for the agent: a workflow run's own
    workflow unless it asks for the agent; a task run's only with run_with="code" and
    a workflow published from the same prompt and URL. ``has_codes``: the run can
    fetch one-time codes (totp_identifier, totp_url or a credential's secret), so the
    code's verification_code need not be given. Raises InvalidRequestError for
    parameters the code cannot run with."""
    workflows = WorkflowStore(store)
    if run.run_type == RunType.workflow_run.value:
        if request.run_with == "agent":
            return None
        workflow = workflows.get(str(run.run_request["workflow_id"]), run.organization_id)
    elif request.run_with == "code":
        found = workflows.for_task(run.organization_id, request.prompt, request.url)
        if found is None:
            return None
        workflow = found
    else:
        return None
    revision = workflows.revision(workflow.workflow_permanent_id)
    script = parse_script(revision.code)
    try:
        given = opened(run.run_request.get("parameters") or {}, sealer)
        values = script.values(given, fetched_at_run_time(has_codes))
    except InvalidRequestError:
        if run.run_type == RunType.workflow_run.value:
            raise
        return None  # a task run has no parameters to give: the agent does the task
    return CodePlan(workflow, revision, script, values)


def workflow_secrets(store: RunStore, run: Run, sealer: Sealer) -> dict[str, str]:
    """A workflow run's secret parameters, for the agent to type by placeholder."""
    if run.run_type != RunType.workflow_run.value:
        return {}
    workflows = WorkflowStore(store)
    script = parse_script(workflows.revision(str(run.run_request["workflow_id"])).code)
    given = opened(run.run_request.get("parameters") or {}, sealer)
    return {name: str(given[name]) for name in script.secrets if given.get(name) is not None}


class CodeRun:
    def __init__(
        self,
        plan: CodePlan,
        *,
        run: Run,
        request: TaskRunRequest,
        task: AgentTask,
        page: PlaywrightPage,
        recorder: StoredRunRecorder,
        store: RunStore,
        make_agent: Any,
        fallback: bool,
        codes: CodeSource | None = None,
        files: FetchFile | None = None,
    ) -> None:
        self.plan = plan
        self.run = run
        self.request = request
        self.task = task
        self.page = page
        self.recorder = recorder
        self.store = store
        self.make_agent = make_agent  # (AgentTask) -> Agent, for the takeover
        self.fallback = fallback
        self.codes = codes
        self.files = files

    async def execute(self) -> AgentResult:
        plan = self.plan
        await asyncio.to_thread(
            self.store.set_workflow,
            self.run.run_id,
            plan.workflow.workflow_permanent_id,
            script_revision_id=plan.revision.script_revision_id,
            ai_fallback_triggered=False,
        )
        try:
            await run_ops(
                self.page, plan.script, plan.values, self._after_op, self._draw, self.files
            )
            output = await read_output(self.page, plan.script, plan.values)
            problems = self._problems(output)
            if problems:
                raise SkyqError(f"the output does not match the schema: {problems[0]}")
        except CodeRunCanceled:
            return AgentResult(RunStatus.canceled, failure_reason="canceled by the caller")
        except SkyqError as exc:
            done = exc.index if isinstance(exc, ScriptStepError) else len(plan.script.ops)
            return await self._take_over(done, str(exc))
        return AgentResult(RunStatus.completed, output=output)

    async def _draw(self, name: str) -> str:
        """A one-time code for the line that types it, from the run's code source."""
        if self.codes is None:
            raise LookupError(f"parameters.{name}: this run has no totp_identifier or totp_url")
        return await self.codes()

    def _problems(self, output: Any) -> list[str]:
        schema = self.request.data_extraction_schema
        if schema is None or isinstance(schema, str):
            return []
        return schema_problems(output, schema)

    async def _after_op(self, index: int, op: Op, error: str | None) -> None:
        step_id = self.recorder.start_step(index + 1, self.page.url)
        self.recorder.record_code_step(
            step_id, ACTION_TYPES.get(op.action, op.action), op.source, op.line, error
        )
        with contextlib.suppress(SkyqError):  # a picture is not worth failing a step over
            shot = await self.page.screenshot()
            self.recorder.save_artifact(step_id, ArtifactType.screenshot_action, shot, "jpg")
        self.recorder.finish_step(step_id, "failed" if error else "completed", Usage())
        if await asyncio.to_thread(self.recorder.cancel_requested):
            raise CodeRunCanceled()

    async def _take_over(self, done: int, why: str) -> AgentResult:
        plan = self.plan
        if not self.fallback:
            return AgentResult(
                RunStatus.failed, failure_reason=f"the workflow's code failed: {why}"
            )
        log.info(
            "code failed; the agent takes over",
            extra={"run_id": self.run.run_id, "at": done, "why": why[:200]},
        )
        await asyncio.to_thread(
            self.store.set_workflow,
            self.run.run_id,
            plan.workflow.workflow_permanent_id,
            ai_fallback_triggered=True,
        )
        self.page.record_targets = True
        note = (
            f"\n\n(The first {done} steps were done by this task's recorded workflow; "
            f"then it stopped: {why}. Carry on from the page as it is now.)"
        )
        # A fetched code is not kept: the agent fetches its own by placeholder.
        secrets = {
            name: str(plan.values[name])
            for name in plan.script.secrets
            if not isinstance(plan.values[name], Drawn)
        }
        task = replace(
            self.task,
            prompt=self.task.prompt + note,
            url=None,
            first_step=done + 2,
            secrets={**self.task.secrets, **secrets},
        )
        result: AgentResult = await self.make_agent(task).run()
        if result.status != RunStatus.completed:
            return result
        try:
            await self._rewrite(done, result.output)
        except SkyqError:  # the run did its work; the old code stays the latest
            log.warning("code not rewritten", extra={"run_id": self.run.run_id}, exc_info=True)
        return result

    async def _rewrite(self, done: int, output: Any) -> None:
        plan = self.plan
        written = await write_code(
            self.run,
            self.request,
            self.page,
            self.recorder.done,
            output,
            prefix=[op.code for op in plan.script.ops[:done]],
            parameters=plan.script.parameters,
            secrets=sorted(plan.script.secrets),
        )
        revision = await asyncio.to_thread(
            WorkflowStore(self.store).add_revision,
            plan.workflow.workflow_permanent_id,
            written.code,
            "regenerated",
            self.run.run_id,
        )
        self.recorder.save_artifact(
            self.recorder.last_step_id,
            ArtifactType.script_file,
            written.code.encode(),
            "py",
            "workflow.py",
        )
        log.info(
            "workflow code regenerated",
            extra={"run_id": self.run.run_id, "revision": revision.revision},
        )
