"""TaskRunRequest and TaskRunResponse, field for field as Skyvern's v1 API sends them."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from jsonschema import SchemaError
from jsonschema.validators import validator_for
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from skyq.schemas.checks import check_http_url, check_run_with
from skyq.schemas.enums import RunEngine, RunStatus, RunType
from skyq.schemas.workflow import WorkflowRunRequest

MAX_STEPS_LIMIT = 1000
SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,199}")
CDP_SCHEMES = ("http", "https", "ws", "wss")


def normalize_extraction_schema(value: Any) -> dict[str, Any] | list[Any] | str | None:
    """Parse a schema given as JSON text and check that it is a valid JSON Schema; a
    bare name (``Product``) is kept for the registry to resolve."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if SCHEMA_NAME.fullmatch(text):
            return text  # the name of a registered schema, resolved by SchemaRegistry
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc.msg} at char {exc.pos})") from None
    if isinstance(value, list):
        # Skyvern accepts a list; it means "an array of items shaped like these".
        return value
    if not isinstance(value, dict):
        raise ValueError("must be a JSON Schema object")
    try:
        validator_for(value).check_schema(value)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(root)"
        raise ValueError(f"is not a valid JSON Schema at {where}: {exc.message}") from None
    return value


class TaskRunRequest(BaseModel):
    """The body of POST /v1/run/tasks."""

    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(min_length=1, description="What the agent should do, in plain words.")
    url: str | None = Field(None, description="The page to start on (http or https).")
    engine: RunEngine = RunEngine.skyvern_v2
    title: str | None = None
    proxy_location: str | dict[str, Any] | None = None
    data_extraction_schema: dict[str, Any] | list[Any] | str | None = None
    error_code_mapping: dict[str, str] | None = None
    max_steps: int | None = Field(None, gt=0, le=MAX_STEPS_LIMIT)
    webhook_url: str | None = None
    totp_identifier: str | None = None
    totp_url: str | None = None
    browser_session_id: str | None = None
    model: dict[str, Any] | None = None
    extra_http_headers: dict[str, str] | None = None
    cdp_connect_headers: dict[str, str] | None = None
    publish_workflow: bool = False
    include_action_history_in_verification: bool | None = False
    max_screenshot_scrolls: int | None = Field(None, ge=0, le=50)
    browser_address: str | None = None
    run_with: str | None = None
    user_agent: str | None = None
    # A stored login (POST /v1/credentials) whose username and password the model
    # types by placeholder ({{username}}, {{password}}); see POST /v1/run/tasks/login.
    credential_id: str | None = None
    # Downloads: how long to wait for each, and a suffix for their file names (as
    # POST /v1/run/tasks/download_files takes them).
    download_timeout: float | None = Field(None, gt=0, le=3600)
    download_suffix: str | None = Field(None, max_length=100)
    # skyq's own: 0-9, higher runs sooner (the broker and the organization's outbox
    # honour it). Skyvern's clients do not send it and get the default.
    priority: int | None = Field(None, ge=0, le=9)

    @field_validator("prompt")
    @classmethod
    def _prompt_is_text(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("url", "webhook_url", "totp_url")
    @classmethod
    def _urls_are_http(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)

    @field_validator("run_with")
    @classmethod
    def _run_with(cls, value: str | None) -> str | None:
        return check_run_with(value)

    @field_validator("browser_address")
    @classmethod
    def _cdp_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme.lower() not in CDP_SCHEMES or not parts.hostname:
            raise ValueError(
                "must be a DevTools address: http(s)://host:port or ws(s)://host:port/..."
            )
        return value

    @model_validator(mode="after")
    def _one_browser(self) -> TaskRunRequest:
        if self.browser_address and self.browser_session_id:
            raise ValueError("browser_address and browser_session_id: give one of them")
        return self

    @field_validator("data_extraction_schema", mode="before")
    @classmethod
    def _schema_is_json_schema(cls, value: Any) -> Any:
        return normalize_extraction_schema(value)

    @property
    def model_name(self) -> str | None:
        if not self.model:
            return None
        name = self.model.get("model_name") or self.model.get("model")
        return str(name) if name else None


class FileInfo(BaseModel):
    url: str
    checksum: str | None = None
    filename: str | None = None
    file_size: int | None = None
    modified_at: datetime | None = None
    artifact_id: str | None = None


class ScriptRunResponse(BaseModel):
    script_id: str | None = None
    script_revision_id: str | None = None
    ai_fallback_triggered: bool = False


class LLMUsage(BaseModel):
    """skyq's addition: what the run's model calls used (cost from litellm's cost map;
    0 for models it does not price, such as local servers)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0


class TaskRunResponse(BaseModel):
    """What GET /v1/runs/{run_id} answers for a task run."""

    run_id: str
    run_type: RunType = RunType.task_v1
    status: RunStatus
    output: dict[str, Any] | list[Any] | str | int | float | bool | None = None
    downloaded_files: list[FileInfo] | None = None
    recording_url: str | None = None
    screenshot_urls: list[str] | None = None
    failure_reason: str | None = None
    created_at: datetime
    modified_at: datetime
    queued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    app_url: str | None = None
    browser_session_id: str | None = None
    max_screenshot_scrolls: int | None = None
    script_run: ScriptRunResponse | None = None
    errors: list[dict[str, Any]] | None = None
    step_count: int | None = None
    # A workflow run's request is a WorkflowRunRequest (its workflow_id, parameters).
    run_request: TaskRunRequest | WorkflowRunRequest | None = None
    title: str | None = None
    # skyq's addition: the workflow this run published (publish_workflow) or ran.
    workflow_permanent_id: str | None = None
    llm_usage: LLMUsage | None = None
