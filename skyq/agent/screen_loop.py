"""The computer-use loop: screenshot in, coordinate actions out, in the model family's
own protocol (openai-cua, anthropic-cua, ui-tars).

What differs between families is only the conversation (``ScreenModel``); the steps,
the budget, the recording (each action with a screenshot marked where it lands),
secrets, downloads and the ending are the same for all of them. A model ends the run by
answering without an action: its answer, read for the markers in ``instruction``, and
the page it left, shaped to the schema by the text model as skyvern-1.0's output is.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from skyq.agent import prompts
from skyq.agent.actions import CompleteAction, TerminateAction
from skyq.agent.asking import ModelCalls, json_bytes, schema_failure
from skyq.agent.downloads import DOWNLOAD_GRACE_SECONDS, keep_downloads
from skyq.agent.page import ActionOutcome, PageDriver, redact, scrub
from skyq.agent.pointer import CursorPosition, PointerAction, Screen, TypeText, Unsupported
from skyq.agent.prompts import PLACEHOLDER, secret_placeholder
from skyq.agent.recorder import CodeSource, RunRecorder, StepReport
from skyq.agent.replies import parse_verify_reply
from skyq.agent.sites import site_of
from skyq.agent.stepping import run_steps
from skyq.agent.task import AgentResult, AgentTask
from skyq.errors import SkyqError
from skyq.llm.base import Usage
from skyq.schemas import ArtifactType, RunStatus

TERMINATE_MARK = "TERMINATE:"
# How much of the model's final words the timeline keeps (the output keeps all of it).
MAX_ANSWER_CHARS = 2000
_ERROR_MARK = re.compile(r"^\s*ERROR\s+([A-Za-z0-9_.\-]+)\s*:\s*(.*)$", re.MULTILINE)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.DOTALL)


@dataclass(frozen=True)
class Call:
    """One action the model asked for; ``call_id`` ties the result back to it."""

    action: PointerAction
    call_id: str | None = None


@dataclass(frozen=True)
class CallResult:
    call: Call
    outcome: ActionOutcome


@dataclass(frozen=True)
class Turn:
    calls: tuple[Call, ...]
    message: str | None
    usage: Usage
    # The exchange as sent and received, stored as the step's llm_request/llm_response.
    request: dict[str, Any] = field(default_factory=dict)
    response: dict[str, Any] = field(default_factory=dict)
    # Set when the run must stop on the model's side: a safety check refused, a model
    # that asks for a human.
    refused: str | None = None


class ScreenModel(Protocol):
    model: str

    async def turn(
        self, screen: Screen, results: list[CallResult], note: str | None = None
    ) -> Turn:
        """The next turn, given the screen after ``results`` (empty on the first, and
        after an answer that was not accepted, which ``note`` then explains)."""
        ...


def instruction(brief: prompts.TaskBrief) -> str:
    """The task as a computer-use model reads it: plain words, with the ways to end."""
    parts = [
        f"TASK: {brief.prompt}",
        "You control a web browser through screenshots and mouse and keyboard actions. "
        "When the task is done, stop using the computer and answer with the result "
        "(the requested data as JSON, if data was asked for). If the task cannot be "
        f"done, answer with a line starting {TERMINATE_MARK} and the reason.",
    ]
    if brief.schema is not None:
        parts.append("The data must fit this JSON schema:\n" + json.dumps(brief.schema))
    if brief.error_codes:
        codes = "\n".join(f"- {code}: {cond}" for code, cond in brief.error_codes.items())
        parts.append(
            "If one of these conditions holds, stop and answer with a line "
            f"'ERROR <code>: <reason>':\n{codes}"
        )
    if brief.verification_codes:
        parts.append(
            "When a page asks for a one-time or verification code, type the text "
            f"{PLACEHOLDER}; the real code is typed in its place."
        )
    if brief.secret_names:
        names = ", ".join(secret_placeholder(n) for n in brief.secret_names)
        parts.append(
            "To type a secret, type its placeholder; the real value is typed in its "
            f"place and you never see it: {names}"
        )
    return "\n\n".join(parts)


class ScreenAgent:
    def __init__(
        self,
        task: AgentTask,
        *,
        model: ScreenModel,
        calls: ModelCalls,
        page: PageDriver,
        recorder: RunRecorder,
        codes: CodeSource | None = None,
        check_answers: bool = True,
    ) -> None:
        self.task = task
        self.model = model
        # Off where the only text model is the screen model itself and it answers in
        # its own grammar, not the verify call's JSON (a UI-TARS checkpoint).
        self.check_answers = check_answers
        self.calls = calls
        self.page = page
        self.recorder = recorder
        self.codes = codes
        self.secrets: frozenset[str] = frozenset(v for v in task.secrets.values() if v)
        self._results: list[CallResult] = []
        self._note: str | None = None
        self._last_step_id: str | None = None

    async def run(self) -> AgentResult:
        result = await run_steps(self.task, self.page, self.recorder, self._step)
        with contextlib.suppress(SkyqError):
            await keep_downloads(
                self.page,
                self.recorder,
                self._last_step_id,
                self.task.download_suffix,
                DOWNLOAD_GRACE_SECONDS,
            )
        return result

    async def _step(self, order: int) -> AgentResult | None:
        started = time.monotonic()
        step_id = self.recorder.start_step(order, scrub(self.page.url, self.secrets))
        self._last_step_id = step_id
        usage = Usage()
        done: list[tuple[str, str | None]] = []
        status = "failed"
        result: AgentResult | None = None
        try:
            screen = await self.page.screen()
            self.recorder.save_artifact(step_id, ArtifactType.screenshot_llm, screen.image, "jpg")
            turn = await self.model.turn(screen, self._results, self._note)
            self._results, self._note = [], None
            usage = turn.usage
            self._save_exchange(step_id, turn)
            if turn.refused is not None:
                result = AgentResult(RunStatus.terminated, failure_reason=turn.refused)
                self._record_end(step_id, done, _terminate(turn.refused))
            elif not turn.calls:
                result, more = await self._end(step_id, turn.message or "", done)
                usage += more
            else:
                self._results = await self._carry_out(step_id, turn.calls, done)
            status = "completed"
        finally:
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
        self, step_id: str, calls: tuple[Call, ...], done: list[tuple[str, str | None]]
    ) -> list[CallResult]:
        results: list[CallResult] = []
        for index, call in enumerate(calls, start=1):
            action = call.action
            point = action.point
            if point is not None:
                shot = await self.page.marked(point)
                self.recorder.save_artifact(step_id, ArtifactType.screenshot_action, shot, "jpg")
            outcome = await self._perform(action)
            self.recorder.record_action(step_id, index, action, outcome, None)
            done.append((action.action_type, None))
            results.append(CallResult(call, outcome))
            await keep_downloads(self.page, self.recorder, step_id, self.task.download_suffix)
            if not outcome.ok:
                break
        # The model is owed an answer to every call it made: those not reached say so.
        for call in calls[len(results) :]:
            skipped = ActionOutcome(ok=False, error="not performed: an earlier action failed")
            results.append(CallResult(call, skipped))
        return results

    async def _perform(self, action: PointerAction) -> ActionOutcome:
        if isinstance(action, Unsupported):
            return ActionOutcome(ok=False, error=action.problem)
        if isinstance(action, CursorPosition):
            return ActionOutcome(ok=True, detail=f"X={action.x},Y={action.y}")
        if not isinstance(action, TypeText):
            return await self.page.pointer(action)
        text = action.text
        needs_code = PLACEHOLDER in text
        named = [n for n in self.task.secrets if secret_placeholder(n) in text]
        if not needs_code and not named:
            return await self.page.pointer(action)
        # Secrets and codes are typed only on the run's own site, whatever a page says.
        home, here = site_of(self.task.url or ""), site_of(self.page.url)
        if home is not None and here != home:
            return ActionOutcome(
                ok=False, error=f"secrets are only typed on {home}, not on {here or 'this page'}"
            )
        for name in named:
            text = text.replace(secret_placeholder(name), self.task.secrets[name])
        if needs_code:
            if self.codes is None:
                return ActionOutcome(ok=False, error="this run has no totp_identifier or totp_url")
            try:
                code = await self.codes()
            except LookupError as exc:
                return ActionOutcome(ok=False, error=str(exc))
            self.secrets |= {code}
            text = text.replace(PLACEHOLDER, code)
        return await self.page.pointer(TypeText(text=text, masked=True))

    async def _end(
        self, step_id: str, message: str, done: list[tuple[str, str | None]]
    ) -> tuple[AgentResult | None, Usage]:
        """The model answered instead of acting. An error code or a TERMINATE line ends
        the run; any other answer is checked as skyvern-1.0 checks ``complete``: on
        the page, by the text model. One that is not borne out is answered to the
        model (None: the run goes on), since screen models stop early to ask for
        confirmation; one that is, ends the run with the answer as its output."""
        message = scrub(message, self.secrets)
        errors = [
            {"error_code": code, "reasoning": reason.strip()}
            for code, reason in _ERROR_MARK.findall(message)
            if code in self.task.error_codes
        ]
        if errors:
            codes = ", ".join(e["error_code"] for e in errors)
            reason = "; ".join(f"{e['error_code']}: {e['reasoning']}" for e in errors)
            failure = f"error code {codes} matched: {reason}"
            self._record_end(step_id, done, _terminate(failure))
            return AgentResult(RunStatus.terminated, failure_reason=failure, errors=errors), Usage()
        if TERMINATE_MARK in message:
            reason = message.split(TERMINATE_MARK, 1)[1].strip()
            failure = reason or "the agent decided the task cannot be done"
            self._record_end(step_id, done, _terminate(failure))
            return AgentResult(RunStatus.terminated, failure_reason=failure), Usage()
        # The page as it is, read once for the check and the output, and only for them.
        obs = None
        if self.check_answers or self.task.schema is not None:
            obs = redact(await self.page.observe(scrolls=0), self.secrets)
        achieved, reasoning, usage = True, "", Usage()
        if obs is not None and self.check_answers:
            check = prompts.verify_messages(
                self.calls.brief,
                obs,
                None,
                max_chars=self.task.max_prompt_chars,
                screenshots=self.task.send_screenshots,
            )
            (achieved, reasoning), usage = await self.calls.ask(step_id, check, parse_verify_reply)
        answered = CompleteAction(action_type="complete", reasoning=message[:MAX_ANSWER_CHARS])
        if not achieved:
            self._record_end(step_id, done, answered, f"the goal is not achieved yet: {reasoning}")
            self._note = (
                f"The task is not done yet: {reasoning} Carry on with it; do not stop to ask "
                "for confirmation."
            )
            return None, usage
        self._record_end(step_id, done, answered)
        answer = _answer(message)
        if obs is None or self.task.schema is None:
            return AgentResult(RunStatus.completed, output=answer), usage
        data = answer if isinstance(answer, dict | list) else None
        output, problems, more = await self.calls.output(step_id, data, obs)
        usage += more
        if problems:
            failure = schema_failure(problems)
            return AgentResult(RunStatus.failed, output=output, failure_reason=failure), usage
        return AgentResult(RunStatus.completed, output=output), usage

    def _record_end(
        self,
        step_id: str,
        done: list[tuple[str, str | None]],
        action: CompleteAction | TerminateAction,
        error: str | None = None,
    ) -> None:
        outcome = ActionOutcome(ok=error is None, error=error)
        self.recorder.record_action(step_id, 1, action, outcome, None)
        done.append((action.action_type, None))

    def _save_exchange(self, step_id: str, turn: Turn) -> None:
        request = {"model": self.model.model, **turn.request}
        self.recorder.save_artifact(
            step_id, ArtifactType.llm_request, _scrubbed(request, self.secrets), "json"
        )
        self.recorder.save_artifact(
            step_id, ArtifactType.llm_response, _scrubbed(turn.response, self.secrets), "json"
        )


def _terminate(reason: str) -> TerminateAction:
    return TerminateAction(action_type="terminate", reasoning=reason[:MAX_ANSWER_CHARS])


def _answer(message: str) -> Any:
    """The model's final answer: its JSON where it gave JSON, else its words."""
    text = message.strip()
    fenced = _FENCE.search(text)
    for candidate in (fenced.group(1) if fenced else None, text):
        if candidate:
            with contextlib.suppress(ValueError):
                return json.loads(candidate)
    return text or None


def _scrubbed(value: dict[str, Any], secrets: frozenset[str]) -> bytes:
    return scrub(json_bytes(value).decode(), secrets).encode()


def without_images(value: Any) -> Any:
    """A request as stored: pictures stand as their size (they are stored apart, as the
    step's screenshot_llm)."""
    if isinstance(value, dict):
        if value.get("type") == "base64" and isinstance(value.get("data"), str):
            return {**value, "data": f"<image, {len(value['data'])} chars>"}
        return {k: without_images(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_images(v) for v in value]
    if isinstance(value, str) and value.startswith("data:image/"):
        return f"<image, {len(value)} chars>"
    return value
