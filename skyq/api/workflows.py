"""Workflows: running one (POST /v1/run/workflows, and /v1/run/agents as newer SDKs
call it), reading its code and revisions, and storing an edited revision."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from skyq.api.auth import Caller, Organization, State
from skyq.api.runs import ensure_session_open
from skyq.db.models import Workflow
from skyq.db.run_store import as_utc
from skyq.db.workflow_store import WorkflowStore
from skyq.proxies import resolve_proxy
from skyq.schemas import (
    TaskRunResponse,
    WorkflowCodeUpdate,
    WorkflowResponse,
    WorkflowRevisionResponse,
    WorkflowRunRequest,
)
from skyq.workflow_runs import create_workflow_run
from skyq.workflows.script import parse_script

router = APIRouter(prefix="/v1")


@router.post("/run/workflows", response_model=TaskRunResponse)
def run_workflow(body: WorkflowRunRequest, state: State, key: Caller) -> TaskRunResponse:
    """Run a published workflow: its code with no model (``run_with="code"``, the
    default; the agent takes over where it fails when ``ai_fallback``), or the agent
    on its task (``run_with="agent"``). Run ids start ``wr_``."""
    resolve_proxy(body.proxy_location, state.settings.proxy_locations)
    if body.browser_session_id is not None:
        ensure_session_open(state, key.organization_id, body.browser_session_id)
    state.limits.check_capacity(key.organization_id)
    run = create_workflow_run(
        state.store,
        state.sealer,
        key.organization_id,
        body,
        api_key_id=key.api_key_id,
    )
    state.dispatcher.dispatch(key.organization_id)
    return state.response(run)


@router.post("/run/agents", response_model=TaskRunResponse)
def run_agent(body: WorkflowRunRequest, state: State, key: Caller) -> TaskRunResponse:
    """The same as POST /v1/run/workflows, with the workflow as ``agent_id``."""
    return run_workflow(body, state, key)


@router.get("/workflows", response_model=list[WorkflowResponse])
def list_workflows(state: State, org: Organization) -> list[WorkflowResponse]:
    workflows = WorkflowStore(state.store)
    return [workflow_response(workflows, w) for w in workflows.list(org)]


@router.get("/workflows/{workflow_id}", response_model=WorkflowResponse)
def get_workflow(
    workflow_id: str,
    state: State,
    org: Organization,
    revision: Annotated[int | None, Query(ge=1)] = None,
) -> WorkflowResponse:
    """The workflow with its code (the latest revision, or ``revision``)."""
    workflows = WorkflowStore(state.store)
    return workflow_response(workflows, workflows.get(workflow_id, org), revision)


@router.post("/workflows/{workflow_id}/revisions", response_model=WorkflowResponse)
def edit_workflow(
    workflow_id: str, body: WorkflowCodeUpdate, state: State, org: Organization
) -> WorkflowResponse:
    """Store edited code as the next revision. It is checked first: code skyq would not
    run is refused (422, with its line), and the latest revision stays as it was."""
    workflows = WorkflowStore(state.store)
    workflow = workflows.get(workflow_id, org)
    parse_script(body.code)
    workflows.add_revision(workflow.workflow_permanent_id, body.code, "edited")
    return workflow_response(workflows, workflows.get(workflow_id, org))


def workflow_response(
    workflows: WorkflowStore, workflow: Workflow, number: int | None = None
) -> WorkflowResponse:
    revision = workflows.revision(workflow.workflow_permanent_id, number)
    script = parse_script(revision.code)
    return WorkflowResponse(
        workflow_permanent_id=workflow.workflow_permanent_id,
        workflow_id=workflow.workflow_permanent_id,
        title=workflow.title,
        prompt=workflow.prompt,
        url=workflow.url,
        parameters=script.parameters,
        secrets=sorted(script.secrets),
        revision=revision.revision,
        script_revision_id=revision.script_revision_id,
        code=revision.code,
        revisions=[
            WorkflowRevisionResponse(
                script_revision_id=r.script_revision_id,
                revision=r.revision,
                origin=r.origin,
                source_run_id=r.source_run_id,
                created_at=as_utc(r.created_at) or r.created_at,
            )
            for r in workflows.revisions(workflow.workflow_permanent_id)
        ],
        source_run_id=workflow.source_run_id,
        created_at=as_utc(workflow.created_at) or workflow.created_at,
        modified_at=as_utc(workflow.modified_at) or workflow.modified_at,
    )
