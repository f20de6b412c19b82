"""The skyvern-1.0 step loop: observe, decide, act, verify, until done or max_steps.

The loop owns step deadlines and the cancel check (between steps). It imports no
browser, model or queue library: it is handed a PageDriver, an LLM and a recorder.
"""

from __future__ import annotations

import contextlib
import json
import time

from skyq.agent import prompts
from skyq.agent.actions import (
    AgentAction,
    CompleteAction,
    InputTextAction,
    TerminateAction,
    UploadFileAction,
)
from skyq.agent.asking import ModelCalls, schema_failure
from skyq.agent.downloads import DOWNLOAD_GRACE_SECONDS, keep_downloads
from skyq.agent.page import ActionOutcome, Observation, PageDriver, redact, scrub
from skyq.agent.prompts import PLACEHOLDER, secret_placeholder
from skyq.agent.recorder import CodeSource, FileSource, RunRecorder, StepReport
from skyq.agent.replies import (
    StepPlan,
    parse_step_reply,
    parse_verify_reply,
)
from skyq.agent.sites import site_of
from skyq.agent.stepping import run_steps
from skyq.agent.task import AgentResult, AgentTask
from skyq.errors import SkyqError
from skyq.llm.base import LLM, Usage
from skyq.schemas import ArtifactType, RunStatus


class Agent:
    def __init__(
        self,
        task: AgentTask,
        *,
        llm: LLM,
        page: PageDriver,
        recorder: RunRecorder,
        files: FileSource | None = None,
        codes: CodeSource | None = None,
    ) -> None:
        self.task = task
        self.llm = llm
        self.page = page
        self.recorder = recorder
        self.files = files
        self.codes = codes
        self.secrets: frozenset[str] = frozenset(v for v in task.secrets.values() if v)
        self._last_step_id: str | None = None
        self.brief = task.brief()
        self.calls = ModelCalls(llm, recorder, self.brief, max_chars=task.max_prompt_chars)
        self.history: list[prompts.HistoryEntry] = []
        self.feedback: str | None = None

    async def run(self) -> AgentResult:
        result = await self._run()
        # Downloads still arriving when the run ended belong to it too.
        with contextlib.suppress(SkyqError):
            await self._keep_downloads(self._last_step_id, wait_seconds=DOWNLOAD_GRACE_SECONDS)
        return result

    async def _run(self) -> AgentResult:
        return await run_steps(self.task, self.page, self.recorder, self._step)

    async def _step(self, order: int) -> AgentResult | None:
        started = time.monotonic()
        step_id = self.recorder.start_step(order, scrub(self.page.url, self.secrets))
        self._last_step_id = step_id
        usage = Usage()
        done: list[tuple[str, str | None]] = []
        result: AgentResult | None = None
        status = "failed"
        try:
            obs = redact(
                await self.page.observe(scrolls=self.task.screenshot_scrolls), self.secrets
            )
            self._save_observation(step_id, obs, ArtifactType.screenshot_llm)
            messages = prompts.step_messages(
                self.brief,
                obs,
                self.history,
                max_chars=self.task.max_prompt_chars,
                screenshots=self.task.send_screenshots,
                feedback=self.feedback,
            )
            self.feedback = None
            codes = frozenset(self.task.error_codes)
            plan, usage = await self.calls.ask(
                step_id, messages, lambda text: parse_step_reply(text, obs.element_ids, codes)
            )
            result, more = await self._carry_out(order, step_id, plan, obs, done)
            usage += more
            status = "completed"
        finally:
            await self._save_final_shot(step_id)
            self.recorder.finish_step(step_id, status, usage)
            self.recorder.step_finished(
                StepReport(
                    order=order,
                    max_steps=self.task.max_steps,
                    actions=tuple(done),
                    url=scrub(self.page.url, self.secrets),
                    elapsed_seconds=time.monotonic() - started,
                    usage=usage,
                )
            )
        return result

    async def _carry_out(
        self,
        order: int,
        step_id: str,
        plan: StepPlan,
        obs: Observation,
        done: list[tuple[str, str | None]],
    ) -> tuple[AgentResult | None, Usage]:
        if plan.errors:
            codes = ", ".join(e["error_code"] for e in plan.errors)
            reason = "; ".join(f"{e['error_code']}: {e['reasoning']}" for e in plan.errors)
            return AgentResult(
                RunStatus.terminated,
                failure_reason=f"error code {codes} matched: {reason}",
                errors=plan.errors,
            ), Usage()
        for index, action in enumerate(plan.actions, start=1):
            element = obs.element(action.element_id) if action.element_id else None
            element_text = _element_text(element.text, element.attrs) if element else None
            done.append((action.action_type, element_text))
            if isinstance(action, CompleteAction):
                return await self._complete(order, step_id, index, action)
            if isinstance(action, TerminateAction):
                self._record(order, step_id, index, action, ActionOutcome(ok=True), None)
                reason = action.reasoning or "the agent decided the task cannot be done"
                return AgentResult(RunStatus.terminated, failure_reason=reason), Usage()
            url_before = self.page.url
            if isinstance(action, UploadFileAction):
                outcome = await self._upload(action)
            elif isinstance(action, InputTextAction) and PLACEHOLDER in action.text:
                outcome = await self._type_code(action)
            elif isinstance(action, InputTextAction) and self._names_secret(action.text):
                outcome = await self._type_secret(action)
            else:
                outcome = await self.page.act(action)
            self._record(order, step_id, index, action, outcome, element_text)
            await self._keep_downloads(step_id, order=order)
            if not outcome.ok or self.page.url != url_before:
                break
        return None, Usage()

    async def _type_code(self, action: InputTextAction) -> ActionOutcome:
        """The model typed the placeholder: skyq types the real code, which the model,
        the stored requests and the listings never see, and only on the run's own
        site, whatever a page tells the model."""
        if self.codes is None:
            return ActionOutcome(ok=False, error="this run has no totp_identifier or totp_url")
        home, here = site_of(self.task.url or ""), site_of(self.page.url)
        if home is None or here != home:
            return ActionOutcome(
                ok=False,
                error=f"the verification code is only typed on {home or 'the start site'}, "
                f"not on {here or 'this page'}",
            )
        try:
            code = await self.codes()
        except LookupError as exc:
            return ActionOutcome(ok=False, error=str(exc))
        self.secrets |= {code}
        return await self.page.fill_secret(action.id, action.text.replace(PLACEHOLDER, code))

    def _names_secret(self, text: str) -> bool:
        return any(secret_placeholder(name) in text for name in self.task.secrets)

    async def _type_secret(self, action: InputTextAction) -> ActionOutcome:
        """The model typed a secret's placeholder: skyq types the value, masked, and
        only on the run's own site, whatever a page tells the model."""
        home, here = site_of(self.task.url or ""), site_of(self.page.url)
        if home is not None and here != home:
            return ActionOutcome(
                ok=False, error=f"secrets are only typed on {home}, not on {here or 'this page'}"
            )
        text = action.text
        for name, value in self.task.secrets.items():
            text = text.replace(secret_placeholder(name), value)
        return await self.page.fill_secret(action.id, text)

    async def _upload(self, action: UploadFileAction) -> ActionOutcome:
        if self.files is None:
            return ActionOutcome(ok=False, error="uploads are not available in this run")
        try:
            file = await self.files(action)
        except LookupError as exc:
            return ActionOutcome(ok=False, error=str(exc))
        return await self.page.upload(action.id, file)

    async def _keep_downloads(
        self, step_id: str | None, *, order: int | None = None, wait_seconds: float = 0.0
    ) -> None:
        kept = await keep_downloads(
            self.page, self.recorder, step_id, self.task.download_suffix, wait_seconds
        )
        if order is None:
            return
        for file in kept:
            self.history.append(
                prompts.HistoryEntry(
                    step=order,
                    action_type="download",
                    element_id=None,
                    element_text=None,
                    detail=f"{json.dumps(file.name)} ({len(file.data)} bytes)",
                    ok=True,
                )
            )

    async def _complete(
        self, order: int, step_id: str, index: int, action: CompleteAction
    ) -> tuple[AgentResult | None, Usage]:
        obs = redact(await self.page.observe(scrolls=0), self.secrets)
        history = self.history if self.task.include_history_in_verification else None
        messages = prompts.verify_messages(
            self.brief,
            obs,
            history,
            max_chars=self.task.max_prompt_chars,
            screenshots=self.task.send_screenshots,
        )
        (achieved, reasoning), usage = await self.calls.ask(step_id, messages, parse_verify_reply)
        if not achieved:
            outcome = ActionOutcome(ok=False, error=f"the goal is not achieved yet: {reasoning}")
            self._record(order, step_id, index, action, outcome, None)
            self.feedback = f"your last 'complete' was rejected: {reasoning}"
            return None, usage
        self._record(order, step_id, index, action, ActionOutcome(ok=True), None)
        output, problems, more = await self.calls.output(step_id, action.data, obs)
        usage += more
        if problems:
            return AgentResult(
                RunStatus.failed, output=output, failure_reason=schema_failure(problems)
            ), usage
        return AgentResult(RunStatus.completed, output=output), usage

    def _record(
        self,
        order: int,
        step_id: str,
        index: int,
        action: AgentAction,
        outcome: ActionOutcome,
        element_text: str | None,
    ) -> None:
        self.recorder.record_action(step_id, index, action, outcome, element_text)
        self.history.append(
            prompts.HistoryEntry(
                step=order,
                action_type=action.action_type,
                element_id=action.element_id,
                element_text=element_text,
                detail=_detail(action),
                ok=outcome.ok,
                error=outcome.error,
            )
        )

    def _save_observation(self, step_id: str, obs: Observation, kind: ArtifactType) -> None:
        for shot in obs.screenshots:
            self.recorder.save_artifact(step_id, kind, shot, "jpg")
        listing = prompts.page_listing(obs, self.task.max_prompt_chars)
        self.recorder.save_artifact(
            step_id, ArtifactType.visible_elements_tree, listing.encode(), "txt"
        )

    async def _save_final_shot(self, step_id: str) -> None:
        try:
            shot = await self.page.screenshot()
        except SkyqError:
            return  # a dead page has no picture; the step's failure says why
        self.recorder.save_artifact(step_id, ArtifactType.screenshot_action, shot, "jpg")


def _element_text(text: str, attrs: dict[str, str]) -> str | None:
    for candidate in (text, attrs.get("label"), attrs.get("placeholder"), attrs.get("name")):
        if candidate:
            return candidate[:80]
    return None


def _detail(action: AgentAction) -> str:
    fields = action.model_dump(
        exclude={"action_type", "id", "reasoning", "data"}, exclude_none=True
    )
    return " ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in fields.items())
