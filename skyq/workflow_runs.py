"""Running a published workflow (POST /v1/run/workflows): the task its run stands for,
and its parameters as they are stored (secret ones sealed, never in clear)."""

from __future__ import annotations

from typing import Any

from skyq import ids
from skyq.agent.prompts import CODE_NAME
from skyq.db import RunStore
from skyq.db.models import Run, Workflow
from skyq.db.workflow_store import WorkflowStore
from skyq.schemas import TaskRunRequest, WorkflowRunRequest
from skyq.sealing import Sealer, is_sealed
from skyq.workflows.script import Script, parse_script

MASK = "******"


def workflow_task(workflow: Workflow, body: WorkflowRunRequest) -> TaskRunRequest:
    """The task a workflow run stands for: the workflow's (for the agent, when it takes
    over or is asked for), run with the request's browser, proxy and webhook."""
    return TaskRunRequest(
        prompt=workflow.prompt,
        url=workflow.url,
        title=body.title or workflow.title,
        data_extraction_schema=workflow.data_extraction_schema,
        proxy_location=body.proxy_location,
        webhook_url=body.webhook_url,
        totp_url=body.totp_url,
        totp_identifier=body.totp_identifier,
        browser_session_id=body.browser_session_id,
        browser_address=body.browser_address,
        max_screenshot_scrolls=body.max_screenshot_scrolls,
        extra_http_headers=body.extra_http_headers,
        run_with=body.run_with,
        max_steps=body.max_steps,
        priority=body.priority,
    )


def stored_request(body: WorkflowRunRequest, script: Script, sealer: Sealer) -> dict[str, Any]:
    """The request as the run row keeps it: secret parameters sealed."""
    stored = body.model_dump(mode="json")
    stored["parameters"] = {
        name: sealer.seal(str(value)) if name in script.secrets and value is not None else value
        for name, value in body.parameters.items()
    }
    return stored


def fetched_at_run_time(has_codes: bool) -> frozenset[str]:
    """The secret parameters a run may leave out because it fetches them itself: the
    one-time code, where the run has a source of codes (totp_identifier, totp_url or a
    credential's secret)."""
    return frozenset({CODE_NAME}) if has_codes else frozenset()


def opened(parameters: dict[str, Any], sealer: Sealer) -> dict[str, Any]:
    return {k: sealer.open(v) if is_sealed(v) else v for k, v in parameters.items()}


def masked(parameters: dict[str, Any]) -> dict[str, Any]:
    return {k: MASK if is_sealed(v) else v for k, v in parameters.items()}


def create_workflow_run(
    store: RunStore,
    sealer: Sealer,
    organization_id: str,
    body: WorkflowRunRequest,
    *,
    api_key_id: str | None = None,
) -> Run:
    """The run row (``wr_``) of a workflow run, checked: the workflow is the caller's,
    and every parameter has a value (the agent needs the secrets too)."""
    workflow = WorkflowStore(store).get(str(body.workflow_id), organization_id)
    script = parse_script(WorkflowStore(store).revision(workflow.workflow_permanent_id).code)
    # Raises naming a missing or unknown parameter.
    script.values(body.parameters, fetched_at_run_time(bool(body.totp_identifier or body.totp_url)))
    request = workflow_task(workflow, body)
    stored = stored_request(body, script, sealer)
    stored["workflow_id"] = workflow.workflow_permanent_id
    run, _ = store.create_or_find_run(
        organization_id,
        request,
        run_id=ids.workflow_run_id(),
        api_key_id=api_key_id,
        workflow=stored,
    )
    return run
