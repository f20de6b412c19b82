"""Turning stored rows into wire responses (no browser, no queue: the API uses this)."""

from __future__ import annotations

from collections.abc import Callable

from skyq.db import RunStore, as_utc
from skyq.db.models import Artifact, Run
from skyq.schemas import (
    SCREENSHOT_TYPES,
    ActionRecord,
    ArtifactResponse,
    ArtifactType,
    FileInfo,
    LLMUsage,
    RunStatus,
    RunType,
    ScriptRunResponse,
    StepRecord,
    TaskRunRequest,
    TaskRunResponse,
    TimelineEntry,
    WorkflowRunRequest,
)
from skyq.storage import ArtifactStore
from skyq.workflow_runs import masked

UrlFor = Callable[[Artifact], str]


def task_run_response(
    run: Run,
    store: RunStore,
    artifacts: ArtifactStore,
    *,
    url_for: UrlFor | None = None,
    app_url: str | None = None,
) -> TaskRunResponse:
    def link(artifact: Artifact) -> str:
        return url_for(artifact) if url_for else artifacts.url(artifact.uri)

    stored = store.artifacts(run.run_id)
    screenshots = [a for a in stored if a.artifact_type in SCREENSHOT_TYPES]
    downloads = [a for a in stored if a.artifact_type == ArtifactType.download]
    recordings = [a for a in stored if a.artifact_type == ArtifactType.recording]
    return TaskRunResponse(
        run_id=run.run_id,
        run_type=RunType(run.run_type),
        status=RunStatus(run.status),
        output=run.output,
        downloaded_files=[
            FileInfo(
                url=link(a),
                checksum=a.checksum,
                filename=a.filename,
                file_size=a.file_size,
                modified_at=as_utc(a.modified_at),
                artifact_id=a.artifact_id,
            )
            for a in downloads
        ],
        recording_url=link(recordings[-1]) if recordings else None,
        screenshot_urls=[link(a) for a in reversed(screenshots)],
        failure_reason=run.failure_reason,
        created_at=as_utc(run.created_at),
        modified_at=as_utc(run.modified_at),
        queued_at=as_utc(run.queued_at),
        started_at=as_utc(run.started_at),
        finished_at=as_utc(run.finished_at),
        app_url=app_url,
        browser_session_id=run.browser_session_id,
        max_screenshot_scrolls=run.run_request.get("max_screenshot_scrolls"),
        errors=run.errors or [],
        step_count=run.step_count,
        run_request=stored_request(run),
        script_run=ScriptRunResponse(
            script_id=run.workflow_permanent_id,
            script_revision_id=run.script_revision_id,
            ai_fallback_triggered=run.ai_fallback_triggered,
        )
        if run.script_revision_id
        else None,
        workflow_permanent_id=run.workflow_permanent_id,
        title=run.title,
        llm_usage=LLMUsage(
            input_tokens=run.input_tokens, output_tokens=run.output_tokens, cost=run.llm_cost
        ),
    )


def stored_request(run: Run) -> TaskRunRequest | WorkflowRunRequest:
    """The request as the caller made it: a workflow run's names its workflow."""
    if run.run_type == RunType.workflow_run.value:
        request = dict(run.run_request)
        request["parameters"] = masked(request.get("parameters") or {})
        return WorkflowRunRequest.model_validate(request)
    return TaskRunRequest.model_validate(run.run_request)


def timeline(store: RunStore, run_id: str) -> list[TimelineEntry]:
    """The run's steps in order, each with its actions in order."""
    actions: dict[str, list[ActionRecord]] = {}
    for action in store.actions(run_id):
        actions.setdefault(action.step_id, []).append(
            ActionRecord.model_validate(action, from_attributes=True)
        )
    entries = []
    for step in store.steps(run_id):
        record = StepRecord.model_validate(step, from_attributes=True)
        record.started_at = as_utc(record.started_at) or record.started_at
        record.finished_at = as_utc(record.finished_at)
        entries.append(
            TimelineEntry(
                step=record,
                actions=actions.get(step.step_id, []),
                created_at=record.started_at,
                modified_at=record.finished_at or record.started_at,
            )
        )
    return entries


def artifact_response(artifact: Artifact, signed_url: str) -> ArtifactResponse:
    return ArtifactResponse(
        artifact_id=artifact.artifact_id,
        artifact_type=artifact.artifact_type,
        uri=artifact.uri,
        signed_url=signed_url,
        checksum=artifact.checksum,
        file_size=artifact.file_size,
        run_id=artifact.run_id,
        step_id=artifact.step_id,
        organization_id=artifact.organization_id,
        created_at=as_utc(artifact.created_at) or artifact.created_at,
        modified_at=as_utc(artifact.modified_at) or artifact.modified_at,
    )
