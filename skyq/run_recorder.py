"""StoredRunRecorder: the agent's RunRecorder on the RunStore and the artifact store,
written through the run's journal (skyq/run_journal.py) so the step loop never waits
for a write."""

from __future__ import annotations

import hashlib
import mimetypes
import time
from collections.abc import Callable

from skyq import ids, metrics
from skyq.agent.actions import AgentAction, PlanAction
from skyq.agent.page import ActionOutcome
from skyq.agent.pointer import PointerAction
from skyq.agent.recorder import StepReport
from skyq.db import RunStore
from skyq.db.models import Action, Artifact, Run, Step, utcnow
from skyq.llm.base import Usage
from skyq.run_journal import RunJournal
from skyq.schemas import ArtifactType
from skyq.workflows.codegen import RecordedAction

CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "json": "application/json",
    "txt": "text/plain; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "webm": "video/webm",
    "mp4": "video/mp4",
}


class StoredRunRecorder:
    def __init__(
        self,
        run: Run,
        store: RunStore,
        journal: RunJournal,
        on_step: Callable[[StepReport], None] | None = None,
    ) -> None:
        self.run = run
        self.store = store
        self.journal = journal
        self.on_step = on_step
        self._steps: dict[str, Step] = {}
        self._step_started: dict[str, float] = {}
        self.last_step_id: str | None = None
        # What a published workflow is written from: the actions that worked, in order.
        self.done: list[RecordedAction] = []

    def cancel_requested(self) -> bool:
        # Read at once, not queued: a cancel is promised to stop the run at its next
        # step, and a primary-key read costs the loop a few milliseconds.
        return self.store.is_cancel_requested(self.run.run_id)

    def start_step(self, order: int, url: str | None) -> str:
        step = RunStore.new_step(self.run, order, url)
        self.journal.write(self.store.add_step, step)
        self._steps[step.step_id] = step
        self._step_started[step.step_id] = time.monotonic()
        self.last_step_id = step.step_id
        return step.step_id

    def save_artifact(
        self,
        step_id: str | None,
        kind: ArtifactType,
        data: bytes,
        ext: str,
        filename: str | None = None,
    ) -> None:
        step = self._steps.get(step_id) if step_id else None
        artifact_id = ids.artifact_id()
        key = (
            f"{self.run.organization_id}/{self.run.run_id}/"
            f"{step.order if step else 0:03d}/{kind.value}_{artifact_id}.{ext}"
        )
        guessed = mimetypes.guess_type(filename)[0] if filename else None
        content_type = guessed or CONTENT_TYPES.get(ext, "application/octet-stream")
        row = Artifact(
            artifact_id=artifact_id,
            organization_id=self.run.organization_id,
            run_id=self.run.run_id,
            step_id=step.step_id if step else None,
            artifact_type=kind.value,
            uri="",  # the store's answer, once the bytes are in
            checksum=hashlib.sha256(data).hexdigest(),
            file_size=len(data),
            filename=filename,
            content_type=content_type,
        )
        self.journal.upload(key, data, content_type, row)

    def flush(self) -> None:
        """Wait until everything recorded so far is written; raises the first failure."""
        self.journal.flush()

    def record_action(
        self,
        step_id: str,
        order: int,
        action: AgentAction | PointerAction | PlanAction,
        outcome: ActionOutcome,
        element_text: str | None,
    ) -> None:
        payload = action.model_dump(
            mode="json", exclude={"action_type", "id", "reasoning"}, exclude_none=True
        )
        if outcome.target is not None:
            payload["target"] = outcome.target
        if outcome.ok:
            self.done.append(
                RecordedAction(action.action_type, outcome.target, payload, element_text)
            )
        self.journal.write(
            self.store.add_action,
            Action(
                action_id=ids.action_id(),
                run_id=self.run.run_id,
                step_id=step_id,
                order=order,
                action_type=action.action_type,
                element_id=action.element_id,
                element_text=element_text,
                payload=payload,
                reasoning=action.reasoning,
                status="completed" if outcome.ok else "failed",
                error=outcome.error,
            ),
        )

    def record_code_step(
        self, step_id: str, action_type: str, source: str, line: int, error: str | None
    ) -> None:
        """A statement of a workflow's code, performed: its line stands for the action
        (with params[...] in it, never a value)."""
        self.journal.write(
            self.store.add_action,
            Action(
                action_id=ids.action_id(),
                run_id=self.run.run_id,
                step_id=step_id,
                order=1,
                action_type=action_type,
                element_text=source[:500],
                payload={"code": source, "line": line},
                status="failed" if error else "completed",
                error=error,
            ),
        )

    def finish_step(self, step_id: str, status: str, usage: Usage) -> None:
        seconds = time.monotonic() - self._step_started.pop(step_id, time.monotonic())
        metrics.step_finished(seconds, usage.input_tokens, usage.output_tokens, usage.cost)
        self.journal.write(
            self.store.finish_step,
            self._steps[step_id],
            status,
            finished_at=utcnow(),
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            llm_cost=usage.cost,
        )

    def step_finished(self, report: StepReport) -> None:
        if self.on_step is not None:
            self.on_step(report)
