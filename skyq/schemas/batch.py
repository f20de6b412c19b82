"""Batches over the API: one run per row, from a prompt template (skyq's own routes;
Skyvern has none)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_BATCH_ROWS = 10_000


class BatchRequest(BaseModel):
    """``prompt`` and ``url`` are templates: ``{column}`` takes the row's value. Any
    other TaskRunRequest field (data_extraction_schema, max_steps, webhook_url, ...)
    applies to every run of the batch."""

    model_config = ConfigDict(extra="allow")

    prompt: str = Field(min_length=1)
    url: str | None = None
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH_ROWS)
    # Below an interactive run's default (5): a batch yields to callers who wait.
    priority: int = Field(2, ge=0, le=9)


class BatchResponse(BaseModel):
    batch_id: str
    status: str  # running | completed (every run ended)
    total: int
    counts: dict[str, int]  # runs by status
    created_at: datetime


class BatchRunEntry(BaseModel):
    row: int
    run_id: str
    status: str
    output: Any = None
    failure_reason: str | None = None
