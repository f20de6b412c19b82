"""Artifacts and the timeline, as GET /v1/runs/{id}/artifacts and /timeline answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class ArtifactResponse(BaseModel):
    artifact_id: str
    artifact_type: str
    uri: str
    signed_url: str | None = None
    checksum: str | None = None
    file_size: int | None = None
    run_id: str | None = None
    step_id: str | None = None
    organization_id: str | None = None
    created_at: datetime
    modified_at: datetime


class ActionRecord(BaseModel):
    action_id: str
    action_type: str
    element_id: str | None = None
    element_text: str | None = None
    payload: dict[str, Any] = {}
    reasoning: str | None = None
    status: str
    error: str | None = None
    created_at: datetime


class StepRecord(BaseModel):
    step_id: str
    attempt: int = 1
    order: int
    status: str
    url: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    llm_cost: float = 0.0
    started_at: datetime
    finished_at: datetime | None = None


class TimelineEntry(BaseModel):
    type: str = "step"
    step: StepRecord
    actions: list[ActionRecord]
    created_at: datetime
    modified_at: datetime
