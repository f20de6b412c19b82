"""SQLModel tables. They stay inside the storage room: callers get wire models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _when(nullable: bool = False, index: bool = False) -> Any:
    kwargs: dict[str, Any] = {"sa_type": DateTime(timezone=True), "nullable": nullable}
    if index:
        kwargs["index"] = True
    if not nullable:
        kwargs["default_factory"] = utcnow
    else:
        kwargs["default"] = None
    return Field(**kwargs)


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"

    organization_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(unique=True, max_length=200)
    created_at: datetime = _when()


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    api_key_id: str = Field(primary_key=True, max_length=64)
    organization_id: str = Field(foreign_key="organizations.organization_id", index=True)
    prefix: str = Field(unique=True, max_length=32)
    key_hash: str = Field(max_length=128)
    created_at: datetime = _when()
    revoked_at: datetime | None = _when(nullable=True)


class Run(SQLModel, table=True):
    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("organization_id", "idempotency_key", name="uq_runs_org_idempotency_key"),
    )

    run_id: str = Field(primary_key=True, max_length=64)
    organization_id: str = Field(foreign_key="organizations.organization_id", index=True)
    run_type: str = Field(max_length=32)
    engine: str = Field(max_length=32)
    status: str = Field(max_length=16, index=True)
    title: str | None = Field(default=None, sa_type=Text)
    prompt: str = Field(sa_type=Text)
    url: str | None = Field(default=None, sa_type=Text)
    run_request: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    output: Any = Field(default=None, sa_type=JSON, nullable=True)
    failure_reason: str | None = Field(default=None, sa_type=Text)
    errors: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)
    step_count: int = 0
    max_steps: int = 10
    attempt: int = 0
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = _when(nullable=True)
    cancel_requested: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    llm_cost: float = 0.0
    browser_session_id: str | None = Field(default=None, max_length=64, index=True)
    api_key_id: str | None = Field(default=None, max_length=64)
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_hash: str | None = Field(default=None, max_length=64)
    webhook_queued_at: datetime | None = _when(nullable=True)
    # Set once the run's message is on the broker; a queued run without it is in the
    # outbox, published by the reaper when the broker is back.
    enqueued_at: datetime | None = _when(nullable=True)
    # 0-9, higher first: on the broker, and out of the organization's outbox.
    priority: int = Field(default=5, sa_column_kwargs={"server_default": "5"})
    batch_id: str | None = Field(default=None, max_length=64, index=True)
    batch_row: int | None = None
    # The workflow a run published or ran, the code revision it ran, and whether the
    # agent had to take over from that code.
    workflow_permanent_id: str | None = Field(default=None, max_length=64)
    script_revision_id: str | None = Field(default=None, max_length=64)
    ai_fallback_triggered: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime = _when(index=True)
    modified_at: datetime = _when()
    queued_at: datetime | None = _when(nullable=True)
    started_at: datetime | None = _when(nullable=True)
    finished_at: datetime | None = _when(nullable=True)


class Batch(SQLModel, table=True):
    """One run per row of an input, from a prompt template (POST /v1/batches)."""

    __tablename__ = "batches"

    batch_id: str = Field(primary_key=True, max_length=64)
    organization_id: str = Field(foreign_key="organizations.organization_id", index=True)
    prompt: str = Field(sa_type=Text)  # the template
    total: int
    priority: int = 2
    created_at: datetime = _when()


class Step(SQLModel, table=True):
    __tablename__ = "steps"
    # A run whose worker died is run again from its start: each attempt numbers its
    # own steps, and the earlier attempt's steps stay for the record.
    __table_args__ = (UniqueConstraint("run_id", "attempt", "order"),)

    step_id: str = Field(primary_key=True, max_length=64)
    run_id: str = Field(foreign_key="runs.run_id", index=True)
    organization_id: str = Field(max_length=64)
    attempt: int = 1
    order: int
    status: str = Field(default="running", max_length=16)
    url: str | None = Field(default=None, sa_type=Text)
    input_tokens: int = 0
    output_tokens: int = 0
    llm_cost: float = 0.0
    started_at: datetime = _when()
    finished_at: datetime | None = _when(nullable=True)


class Action(SQLModel, table=True):
    __tablename__ = "actions"

    action_id: str = Field(primary_key=True, max_length=64)
    run_id: str = Field(foreign_key="runs.run_id", index=True)
    step_id: str = Field(foreign_key="steps.step_id", index=True)
    order: int
    action_type: str = Field(max_length=32)
    element_id: str | None = Field(default=None, max_length=32)
    element_text: str | None = Field(default=None, sa_type=Text)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    reasoning: str | None = Field(default=None, sa_type=Text)
    status: str = Field(max_length=16)
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = _when()


class Artifact(SQLModel, table=True):
    __tablename__ = "artifacts"

    artifact_id: str = Field(primary_key=True, max_length=64)
    organization_id: str = Field(max_length=64, index=True)
    run_id: str | None = Field(default=None, foreign_key="runs.run_id", index=True)
    step_id: str | None = Field(default=None, max_length=64)
    artifact_type: str = Field(max_length=40)
    uri: str = Field(sa_type=Text)
    checksum: str | None = Field(default=None, max_length=64)
    file_size: int = 0
    filename: str | None = Field(default=None, sa_type=Text)
    content_type: str | None = Field(default=None, max_length=100)
    created_at: datetime = _when()
    modified_at: datetime = _when()


class WebhookDelivery(SQLModel, table=True):
    """One attempt to deliver a run's webhook, kept whatever its outcome."""

    __tablename__ = "webhook_deliveries"

    delivery_id: str = Field(primary_key=True, max_length=64)
    run_id: str = Field(foreign_key="runs.run_id", index=True)
    organization_id: str = Field(max_length=64)
    url: str = Field(sa_type=Text)
    attempt: int
    status_code: int | None = None
    error: str | None = Field(default=None, sa_type=Text)
    duration_ms: int = 0
    created_at: datetime = _when()


class TotpCode(SQLModel, table=True):
    """A one-time code pushed for a totp_identifier (POST /v1/credentials/totp)."""

    __tablename__ = "totp_codes"

    totp_code_id: str = Field(primary_key=True, max_length=64)
    organization_id: str = Field(max_length=64, index=True)
    totp_identifier: str = Field(max_length=300, index=True)
    code: str = Field(max_length=16)
    task_id: str | None = Field(default=None, max_length=64)
    source: str | None = Field(default=None, max_length=100)
    expired_at: datetime | None = _when(nullable=True)
    created_at: datetime = _when()


class BrowserSession(SQLModel, table=True):
    """A browser kept open across runs, held by one worker process (``worker`` is the
    Celery node whose own queue its runs are sent to)."""

    __tablename__ = "browser_sessions"

    browser_session_id: str = Field(primary_key=True, max_length=64)
    organization_id: str = Field(foreign_key="organizations.organization_id", index=True)
    status: str = Field(max_length=16, index=True)
    timeout_minutes: int
    url: str | None = Field(default=None, sa_type=Text)
    proxy_location: Any = Field(default=None, sa_type=JSON, nullable=True)
    worker: str | None = Field(default=None, max_length=200)
    # Renewed by the holding process; past it, the scheduler fails the session.
    lease_expires_at: datetime | None = _when(nullable=True)
    runnable_type: str | None = Field(default=None, max_length=32)
    runnable_id: str | None = Field(default=None, max_length=64)
    failure_reason: str | None = Field(default=None, sa_type=Text)
    started_at: datetime | None = _when(nullable=True)
    completed_at: datetime | None = _when(nullable=True)
    created_at: datetime = _when()
    modified_at: datetime = _when()


class Workflow(SQLModel, table=True):
    """A published workflow (``wpid_``): the task it came from and its code's revisions."""

    __tablename__ = "workflows"

    workflow_permanent_id: str = Field(primary_key=True, max_length=64)
    organization_id: str = Field(foreign_key="organizations.organization_id", index=True)
    title: str = Field(sa_type=Text)
    prompt: str = Field(sa_type=Text)
    url: str | None = Field(default=None, sa_type=Text)
    data_extraction_schema: Any = Field(default=None, sa_type=JSON, nullable=True)
    # sha256 of (prompt, url): how a task run with run_with="code" finds its code.
    task_key: str = Field(max_length=64, index=True)
    source_run_id: str | None = Field(default=None, max_length=64)
    latest_revision: int = 1
    created_at: datetime = _when()
    modified_at: datetime = _when()


class WorkflowRevision(SQLModel, table=True):
    """One version of a workflow's code; a revision is never changed, only added."""

    __tablename__ = "workflow_revisions"
    __table_args__ = (UniqueConstraint("workflow_permanent_id", "revision"),)

    script_revision_id: str = Field(primary_key=True, max_length=64)
    workflow_permanent_id: str = Field(foreign_key="workflows.workflow_permanent_id", index=True)
    revision: int
    code: str = Field(sa_type=Text)
    # published (from a run), edited (by a person), regenerated (after an AI fallback)
    origin: str = Field(max_length=16)
    source_run_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = _when()


class Credential(SQLModel, table=True):
    """A login kept for runs (``cred_``): the password and TOTP secret sealed at rest."""

    __tablename__ = "credentials"

    credential_id: str = Field(primary_key=True, max_length=64)
    organization_id: str = Field(foreign_key="organizations.organization_id", index=True)
    name: str = Field(max_length=200)
    credential_type: str = Field(max_length=32)
    username: str = Field(sa_type=Text)
    password_sealed: str = Field(sa_type=Text)
    totp_sealed: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = _when()
