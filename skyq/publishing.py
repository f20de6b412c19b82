"""publish_workflow: after a run completes, its action record becomes a workflow's
code (selectors a person would write, the caller's values as parameters, the output
read off the final page), stored as the workflow's first revision."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from skyq.browser import PlaywrightPage
from skyq.browser.extraction_plan import extraction_plan
from skyq.db import RunStore
from skyq.db.models import Run, WorkflowRevision
from skyq.db.workflow_store import WorkflowStore
from skyq.run_recorder import StoredRunRecorder
from skyq.schemas import ArtifactType, TaskRunRequest
from skyq.workflows.codegen import RecordedAction, Source, Written, generate
from skyq.workflows.script import parse_script

log = logging.getLogger(__name__)


async def write_code(
    run: Run,
    request: TaskRunRequest,
    page: PlaywrightPage,
    actions: list[RecordedAction],
    output: Any,
    *,
    prefix: list[str] | None = None,
    parameters: dict[str, Any] | None = None,
    secrets: list[str] | None = None,
) -> Written:
    """The code for what the run did, checked to read back as skyq runs it."""
    plan = await extraction_plan(page.page, output) if output is not None else None
    source = Source(
        title=request.title or request.prompt.splitlines()[0][:100],
        prompt=request.prompt,
        url=request.url if not prefix else None,
        run_id=run.run_id,
    )
    written = generate(source, actions, plan, prefix=prefix, parameters=parameters, secrets=secrets)
    parse_script(written.code)  # what is stored is always what runs
    return written


async def publish(
    run: Run,
    request: TaskRunRequest,
    page: PlaywrightPage,
    recorder: StoredRunRecorder,
    store: RunStore,
    output: Any,
) -> WorkflowRevision:
    written = await write_code(run, request, page, recorder.done, output)
    code = written.code
    # A password given in the prompt is kept there as its placeholder: the agent types
    # it by that name when it takes over, and the value comes with each run.
    workflow, revision = await asyncio.to_thread(
        WorkflowStore(store).publish,
        run.organization_id,
        title=written.scrub(request.title or request.prompt.splitlines()[0][:100]),
        prompt=written.scrub(request.prompt),
        url=request.url,
        schema=request.data_extraction_schema,
        code=code,
        run_id=run.run_id,
    )
    await asyncio.to_thread(store.set_workflow, run.run_id, workflow.workflow_permanent_id)
    recorder.save_artifact(
        recorder.last_step_id, ArtifactType.script_file, code.encode(), "py", "workflow.py"
    )
    log.info(
        "workflow published",
        extra={"run_id": run.run_id, "workflow_permanent_id": workflow.workflow_permanent_id},
    )
    return revision
