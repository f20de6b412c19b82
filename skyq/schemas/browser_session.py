"""Browser sessions on the wire, as Skyvern's v1 API sends them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from skyq.schemas.checks import check_http_url
from skyq.schemas.task_run import FileInfo

DEFAULT_SESSION_MINUTES = 60
MAX_SESSION_MINUTES = 24 * 60


class BrowserSessionStatus(StrEnum):
    created = "created"  # accepted; no worker holds it yet
    running = "running"  # open in one worker's browser
    completed = "completed"  # closed by the caller
    timeout = "timeout"  # closed by the scheduler when its timeout ran out
    failed = "failed"  # could not be opened, or its worker went away

    @property
    def is_final(self) -> bool:
        return self in FINAL_SESSION_STATUSES


FINAL_SESSION_STATUSES = frozenset(
    {BrowserSessionStatus.completed, BrowserSessionStatus.timeout, BrowserSessionStatus.failed}
)


class CreateBrowserSessionRequest(BaseModel):
    """The body of POST /v1/browser_sessions (every field optional)."""

    model_config = ConfigDict(extra="ignore")

    timeout: int = Field(
        DEFAULT_SESSION_MINUTES,
        ge=1,
        le=MAX_SESSION_MINUTES,
        description="Minutes after which the scheduler closes the session.",
    )
    proxy_location: str | dict[str, Any] | None = None
    url: str | None = Field(None, description="A page to open when the session starts.")

    @field_validator("timeout", mode="before")
    @classmethod
    def _default_when_null(cls, value: Any) -> Any:
        return DEFAULT_SESSION_MINUTES if value is None else value

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)


class BrowserSessionResponse(BaseModel):
    browser_session_id: str
    organization_id: str
    status: BrowserSessionStatus
    timeout: int
    browser_address: str | None = None
    app_url: str | None = None
    runnable_type: str | None = None
    runnable_id: str | None = None
    downloaded_files: list[FileInfo] | None = None
    recordings: list[FileInfo] | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    created_at: datetime
    modified_at: datetime
    deleted_at: datetime | None = None
    # skyq's additions: why a session ended other than by its caller, and what it opened.
    failure_reason: str | None = None
    url: str | None = None
