"""Batches: POST /v1/batches makes one run per row (accepted whole or not at all);
GET shows progress and the rows' results. The runs are ordinary runs: the per-
organization window and their priority (2 unless given) keep a batch from standing in
front of interactive runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import ValidationError

from skyq.api.auth import Caller, Organization, State
from skyq.api.state import ApiState
from skyq.batch.template import fill
from skyq.errors import InvalidRequestError, invalid_request
from skyq.schemas import (
    BatchRequest,
    BatchResponse,
    BatchRunEntry,
    RunStatus,
    TaskRunRequest,
)
from skyq.schemas.enums import TERMINAL_STATUSES

router = APIRouter(prefix="/v1")


def _row_requests(body: BatchRequest) -> list[TaskRunRequest]:
    shared = dict(body.model_extra or {})
    requests = []
    for index, row in enumerate(body.rows):
        try:
            fields: dict[str, Any] = {**shared, "prompt": fill(body.prompt, row)}
            if body.url is not None:
                fields["url"] = fill(body.url, row, field="url")
            fields["priority"] = body.priority
            requests.append(TaskRunRequest.model_validate(fields))
        except InvalidRequestError as exc:
            raise _row_error(index, exc.field, exc.message) from None
        except ValidationError as exc:
            problem = invalid_request(exc)
            raise _row_error(index, problem.field, problem.message) from None
    return requests


def _row_error(index: int, field: str, message: str) -> HTTPException:
    detail = [{"loc": ["body", "rows", index, field], "msg": message, "type": "value_error"}]
    return HTTPException(422, detail=detail)


@router.post("/batches", response_model=BatchResponse)
def create_batch(body: BatchRequest, state: State, key: Caller) -> BatchResponse:
    """One run per row of ``rows``; answers at once with the batch's id."""
    requests = [state.schemas.resolve(request) for request in _row_requests(body)]
    state.limits.check_capacity(key.organization_id, adding=len(requests))
    batch = state.store.create_batch(
        key.organization_id,
        body.prompt,
        requests,
        priority=body.priority,
        api_key_id=key.api_key_id,
    )
    state.dispatcher.dispatch(key.organization_id)
    return _response(state, batch.batch_id, key.organization_id)


@router.get("/batches/{batch_id}", response_model=BatchResponse)
def get_batch(batch_id: str, state: State, org: Organization) -> BatchResponse:
    return _response(state, batch_id, org)


@router.get("/batches/{batch_id}/runs", response_model=list[BatchRunEntry])
def batch_runs(
    batch_id: str,
    state: State,
    org: Organization,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    status: RunStatus | None = None,
) -> list[BatchRunEntry]:
    """The batch's runs in row order, with each one's output or failure reason."""
    state.store.get_batch(batch_id, org)
    runs = state.store.batch_runs(
        batch_id, offset=offset, limit=limit, status=status.value if status else None
    )
    return [
        BatchRunEntry(
            row=run.batch_row or 0,
            run_id=run.run_id,
            status=run.status,
            output=run.output,
            failure_reason=run.failure_reason,
        )
        for run in runs
    ]


def _response(state: ApiState, batch_id: str, organization_id: str) -> BatchResponse:
    batch = state.store.get_batch(batch_id, organization_id)
    counts = state.store.batch_counts(batch_id)
    ended = sum(n for status, n in counts.items() if RunStatus(status) in TERMINAL_STATUSES)
    return BatchResponse(
        batch_id=batch.batch_id,
        status="completed" if ended == batch.total else "running",
        total=batch.total,
        counts=counts,
        created_at=batch.created_at,
    )
