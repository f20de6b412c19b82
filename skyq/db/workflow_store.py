"""WorkflowStore: published workflows and the revisions of their code."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from skyq import ids
from skyq.db.models import Workflow, WorkflowRevision, utcnow
from skyq.db.run_store import RunStore
from skyq.errors import WorkflowNotFoundError


def task_key(prompt: str, url: str | None) -> str:
    """What a task run with run_with="code" is matched on: its prompt and start URL."""
    return hashlib.sha256(json.dumps([prompt, url]).encode()).hexdigest()


class WorkflowStore:
    def __init__(self, store: RunStore) -> None:
        self.store = store

    def publish(
        self,
        organization_id: str,
        *,
        title: str,
        prompt: str,
        url: str | None,
        schema: Any,
        code: str,
        run_id: str | None,
    ) -> tuple[Workflow, WorkflowRevision]:
        now = utcnow()
        workflow = Workflow(
            workflow_permanent_id=ids.workflow_permanent_id(),
            organization_id=organization_id,
            title=title,
            prompt=prompt,
            url=url,
            data_extraction_schema=schema,
            task_key=task_key(prompt, url),
            source_run_id=run_id,
            created_at=now,
            modified_at=now,
        )
        revision = WorkflowRevision(
            script_revision_id=ids.script_revision_id(),
            workflow_permanent_id=workflow.workflow_permanent_id,
            revision=1,
            code=code,
            origin="published",
            source_run_id=run_id,
            created_at=now,
        )
        with self.store.session() as session:
            session.add(workflow)
            session.flush()
            session.add(revision)
            session.commit()
        return workflow, revision

    def add_revision(
        self, workflow_permanent_id: str, code: str, origin: str, run_id: str | None = None
    ) -> WorkflowRevision:
        """The next revision of the workflow's code (two writers at once: one retries)."""
        for _ in range(3):
            with self.store.session() as session:
                workflow = session.get(Workflow, workflow_permanent_id)
                if workflow is None:
                    raise WorkflowNotFoundError(f"no workflow {workflow_permanent_id!r}")
                revision = WorkflowRevision(
                    script_revision_id=ids.script_revision_id(),
                    workflow_permanent_id=workflow_permanent_id,
                    revision=workflow.latest_revision + 1,
                    code=code,
                    origin=origin,
                    source_run_id=run_id,
                )
                workflow.latest_revision = revision.revision
                workflow.modified_at = utcnow()
                session.add(revision)
                session.add(workflow)
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    continue
                return revision
        raise WorkflowNotFoundError(f"workflow {workflow_permanent_id} is being changed; retry")

    def get(self, workflow_permanent_id: str, organization_id: str | None = None) -> Workflow:
        with self.store.session() as session:
            workflow = session.get(Workflow, workflow_permanent_id)
        if workflow is None or (
            organization_id is not None and workflow.organization_id != organization_id
        ):
            raise WorkflowNotFoundError(f"no workflow {workflow_permanent_id!r}")
        return workflow

    def revision(self, workflow_permanent_id: str, number: int | None = None) -> WorkflowRevision:
        """The given revision, or the latest."""
        query = select(WorkflowRevision).where(
            WorkflowRevision.workflow_permanent_id == workflow_permanent_id
        )
        if number is not None:
            query = query.where(WorkflowRevision.revision == number)
        query = query.order_by(col(WorkflowRevision.revision).desc())
        with self.store.session() as session:
            found = session.exec(query).first()
        if found is None:
            which = f"revision {number} of " if number is not None else ""
            raise WorkflowNotFoundError(f"no {which}workflow {workflow_permanent_id!r}")
        return found

    def revisions(self, workflow_permanent_id: str) -> list[WorkflowRevision]:
        query = (
            select(WorkflowRevision)
            .where(WorkflowRevision.workflow_permanent_id == workflow_permanent_id)
            .order_by(col(WorkflowRevision.revision))
        )
        with self.store.session() as session:
            return list(session.exec(query).all())

    def list(self, organization_id: str | None, limit: int = 100) -> list[Workflow]:
        """The newest workflows first (of every organization, for None)."""
        query = select(Workflow).order_by(col(Workflow.modified_at).desc()).limit(limit)
        if organization_id is not None:
            query = query.where(Workflow.organization_id == organization_id)
        with self.store.session() as session:
            return list(session.exec(query).all())

    def for_task(self, organization_id: str, prompt: str, url: str | None) -> Workflow | None:
        """The newest workflow published from a task with this prompt and URL."""
        query = (
            select(Workflow)
            .where(Workflow.organization_id == organization_id)
            .where(Workflow.task_key == task_key(prompt, url))
            .order_by(col(Workflow.modified_at).desc())
        )
        with self.store.session() as session:
            return session.exec(query).first()
