"""Workflows on the wire: running one (POST /v1/run/workflows, /v1/run/agents), and
reading and editing its code (skyq's /v1/workflows routes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from skyq.schemas.checks import check_http_url, check_run_with


class WorkflowRunRequest(BaseModel):
    """The body of POST /v1/run/workflows (``workflow_id``) or /v1/run/agents
    (``agent_id``, the newer name of the same thing)."""

    model_config = ConfigDict(extra="ignore")

    workflow_id: str | None = Field(None, description="The workflow's wpid_ id.")
    agent_id: str | None = Field(None, description="The same id, as newer SDKs send it.")
    parameters: dict[str, Any] = Field(default_factory=dict)
    title: str | None = None
    proxy_location: str | dict[str, Any] | None = None
    webhook_url: str | None = None
    totp_url: str | None = None
    totp_identifier: str | None = None
    browser_session_id: str | None = None
    browser_address: str | None = None
    max_screenshot_scrolls: int | None = Field(None, ge=0, le=50)
    extra_http_headers: dict[str, str] | None = None
    # The workflow's code by default; "agent" has the model do the task instead.
    run_with: str | None = None
    ai_fallback: bool = Field(True, description="Let the agent take over where the code fails.")
    max_steps: int | None = Field(None, gt=0, le=1000)
    priority: int | None = Field(None, ge=0, le=9)

    @field_validator("run_with")
    @classmethod
    def _run_with(cls, value: str | None) -> str | None:
        return check_run_with(value)

    @field_validator("webhook_url", "totp_url")
    @classmethod
    def _urls_are_http(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)

    @model_validator(mode="after")
    def _names_a_workflow(self) -> WorkflowRunRequest:
        if not (self.workflow_id or self.agent_id):
            raise ValueError("workflow_id (or agent_id) is required")
        self.workflow_id = self.workflow_id or self.agent_id
        return self


class WorkflowRevisionResponse(BaseModel):
    script_revision_id: str
    revision: int
    origin: str
    source_run_id: str | None = None
    created_at: datetime


class WorkflowResponse(BaseModel):
    workflow_permanent_id: str
    workflow_id: str
    title: str
    prompt: str
    url: str | None = None
    parameters: dict[str, Any]
    secrets: list[str]
    revision: int
    script_revision_id: str
    code: str
    revisions: list[WorkflowRevisionResponse]
    source_run_id: str | None = None
    created_at: datetime
    modified_at: datetime


class WorkflowCodeUpdate(BaseModel):
    """A new revision of the code (it is checked before it is stored)."""

    code: str = Field(min_length=1, max_length=200_000)
