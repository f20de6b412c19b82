"""RunStore: every read and write of runs, steps, actions and artifacts.

Status changes are compare-and-set (``UPDATE ... WHERE status IN (...)``): whoever
loses the race learns it from the row count and does nothing, which is what makes a
duplicate delivery of a run harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, and_, func, or_, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlmodel import Session, col, select

from skyq import ids
from skyq.db.models import (
    Action,
    Artifact,
    Batch,
    BrowserSession,
    Organization,
    Run,
    Step,
    WebhookDelivery,
    utcnow,
)
from skyq.errors import BatchNotFoundError, DatabaseUnavailableError, RunNotFoundError
from skyq.schemas import ENGINE_RUN_TYPES, TERMINAL_STATUSES, RunStatus, RunType, TaskRunRequest

STARTABLE = (RunStatus.created, RunStatus.queued)
DEFAULT_PRIORITY = 5


class ClaimState(StrEnum):
    claimed = "claimed"  # this attempt owns the run now
    busy = "busy"  # another attempt holds a live lease: look again after retry_after
    finished = "finished"  # already terminal (or canceled before it started)
    exhausted = "exhausted"  # out of attempts: failed
    missing = "missing"  # no such run


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    retry_after: float = 0.0


class RunStore:
    def __init__(self, engine: Engine, *, default_max_steps: int = 10) -> None:
        self.engine = engine
        self.default_max_steps = default_max_steps

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session; losing the database in it raises DatabaseUnavailableError."""
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
        except DBAPIError as exc:
            if isinstance(exc, OperationalError) or exc.connection_invalidated:
                raise DatabaseUnavailableError(f"the database is unavailable: {exc.orig}") from exc
            raise

    # organizations -------------------------------------------------------------

    def ensure_organization(self, name: str) -> str:
        with self.session() as session:
            found = session.exec(select(Organization).where(Organization.name == name)).first()
            if found:
                return found.organization_id
            org = Organization(organization_id=ids.organization_id(), name=name)
            session.add(org)
            session.commit()
            return org.organization_id

    # runs ----------------------------------------------------------------------

    def create_run(
        self,
        organization_id: str,
        request: TaskRunRequest,
        *,
        run_id: str | None = None,
        status: RunStatus = RunStatus.queued,
        api_key_id: str | None = None,
        enqueued: bool = False,
    ) -> Run:
        """Insert the run row; with a ``run_id`` that exists already, return that row.
        ``enqueued``: its message is on the queue already (it came over the queue)."""
        return self.create_or_find_run(
            organization_id,
            request,
            run_id=run_id,
            status=status,
            api_key_id=api_key_id,
            enqueued=enqueued,
        )[0]

    def create_or_find_run(
        self,
        organization_id: str,
        request: TaskRunRequest,
        *,
        run_id: str | None = None,
        status: RunStatus = RunStatus.queued,
        api_key_id: str | None = None,
        idempotency_key: str | None = None,
        request_hash: str | None = None,
        enqueued: bool = False,
        workflow: dict[str, Any] | None = None,
    ) -> tuple[Run, bool]:
        """The run and whether this call created it: an existing ``run_id`` or
        ``idempotency_key`` (of the same organization) returns the run already there.
        ``workflow``: a workflow run's request (workflow_id, parameters ...), kept with
        the task ``request`` made from its workflow."""
        run_id = run_id or ids.task_run_id()
        if idempotency_key is not None:
            found = self.find_idempotent(organization_id, idempotency_key)
            if found is not None:
                return found, False
        with self.session() as session:
            existing = session.get(Run, run_id)
            if existing is not None:
                return existing, False
            run = self._new_run(
                organization_id,
                request,
                run_id,
                utcnow(),
                status=status,
                api_key_id=api_key_id,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
                enqueued=enqueued,
            )
            if workflow is not None:
                run.run_type = RunType.workflow_run.value
                run.run_request = {**run.run_request, **workflow}
                run.workflow_permanent_id = str(workflow["workflow_id"])
            session.add(run)
            try:
                session.commit()
            except IntegrityError:
                # A concurrent request with the same key (or id) got there first.
                session.rollback()
                if idempotency_key is not None:
                    found = self.find_idempotent(organization_id, idempotency_key)
                    if found is not None:
                        return found, False
                raise
            return run, True

    # batches ---------------------------------------------------------------------

    def create_batch(
        self,
        organization_id: str,
        template: str,
        requests: list[TaskRunRequest],
        *,
        priority: int,
        api_key_id: str | None = None,
    ) -> Batch:
        """The batch and a queued run per request (``batch_row`` = its index), in one
        transaction: a batch is accepted whole or not at all."""
        now = utcnow()
        batch = Batch(
            batch_id=ids.new_id("bat"),
            organization_id=organization_id,
            prompt=template,
            total=len(requests),
            priority=priority,
            created_at=now,
        )
        with self.session() as session:
            session.add(batch)
            for row, request in enumerate(requests):
                run_id = ids.task_run_id()
                session.add(
                    self._new_run(
                        organization_id,
                        request,
                        run_id,
                        now,
                        api_key_id=api_key_id,
                        batch_id=batch.batch_id,
                        batch_row=row,
                    )
                )
            session.commit()
        return batch

    def get_batch(self, batch_id: str, organization_id: str) -> Batch:
        with self.session() as session:
            batch = session.get(Batch, batch_id)
        if batch is None or batch.organization_id != organization_id:
            raise BatchNotFoundError(f"no batch {batch_id!r}")
        return batch

    def batch_counts(self, batch_id: str) -> dict[str, int]:
        query = (
            select(Run.status, func.count()).where(Run.batch_id == batch_id).group_by(Run.status)
        )
        with self.session() as session:
            return {status: int(n) for status, n in session.exec(query).all()}

    def batch_runs(
        self, batch_id: str, *, offset: int, limit: int, status: str | None = None
    ) -> list[Run]:
        query = select(Run).where(Run.batch_id == batch_id)
        if status is not None:
            query = query.where(Run.status == status)
        query = query.order_by(col(Run.batch_row)).offset(offset).limit(limit)
        with self.session() as session:
            return list(session.exec(query).all())

    def count_by_status(self) -> dict[str, int]:
        """Runs by status, and ``waiting``: accepted runs not yet on the queue."""
        with self.session() as session:
            rows = session.exec(select(Run.status, func.count()).group_by(Run.status)).all()
            waiting = session.exec(
                select(func.count())
                .select_from(Run)
                .where(col(Run.status).in_([s.value for s in STARTABLE]))
                .where(col(Run.enqueued_at).is_(None))
            ).one()
        return {**{status: int(n) for status, n in rows}, "waiting": int(waiting)}

    def _new_run(
        self,
        organization_id: str,
        request: TaskRunRequest,
        run_id: str,
        now: datetime,
        *,
        status: RunStatus = RunStatus.queued,
        enqueued: bool = False,
        **columns: Any,
    ) -> Run:
        return Run(
            run_id=run_id,
            organization_id=organization_id,
            run_type=ENGINE_RUN_TYPES[request.engine].value,
            engine=request.engine.value,
            status=status.value,
            title=request.title,
            prompt=request.prompt,
            url=request.url,
            run_request=request.model_dump(mode="json"),
            max_steps=request.max_steps or self.default_max_steps,
            browser_session_id=request.browser_session_id,
            created_at=now,
            modified_at=now,
            queued_at=now if status == RunStatus.queued else None,
            enqueued_at=now if enqueued else None,
            priority=DEFAULT_PRIORITY if request.priority is None else request.priority,
            **columns,
        )

    def count_active(self, organization_id: str) -> int:
        query = (
            select(func.count())
            .select_from(Run)
            .where(Run.organization_id == organization_id)
            .where(col(Run.status).in_([s.value for s in (*STARTABLE, RunStatus.running)]))
        )
        with self.session() as session:
            return int(session.exec(query).one())

    def find_idempotent(self, organization_id: str, key: str) -> Run | None:
        query = select(Run).where(
            Run.organization_id == organization_id, Run.idempotency_key == key
        )
        with self.session() as session:
            return session.exec(query).first()

    def get_run(self, run_id: str, organization_id: str | None = None) -> Run:
        with self.session() as session:
            run = session.get(Run, run_id)
        if run is None or (organization_id is not None and run.organization_id != organization_id):
            raise RunNotFoundError(f"no run {run_id!r}")
        return run

    def list_runs(self, organization_id: str | None = None, limit: int = 20) -> list[Run]:
        query = select(Run).order_by(col(Run.created_at).desc()).limit(limit)
        if organization_id is not None:
            query = query.where(Run.organization_id == organization_id)
        with self.session() as session:
            return list(session.exec(query).all())

    def transition(
        self,
        run_id: str,
        allowed: Iterable[RunStatus],
        to: RunStatus,
        *,
        guard: dict[str, Any] | None = None,
        **fields: Any,
    ) -> bool:
        """Move the run to ``to`` only if its status is one of ``allowed`` (and its
        columns equal ``guard``)."""
        values = {"status": to.value, "modified_at": utcnow(), **fields}
        statement = (
            update(Run)
            .where(col(Run.run_id) == run_id)
            .where(col(Run.status).in_([s.value for s in allowed]))
            .values(**values)
        )
        for column, value in (guard or {}).items():
            statement = statement.where(getattr(Run, column) == value)
        with self.session() as session:
            result = session.exec(statement)
            session.commit()
            return bool(result.rowcount == 1)

    def claim_run(
        self, run_id: str, owner: str, *, lease_seconds: float, max_attempts: int
    ) -> Claim:
        """Take the run for one execution attempt, under a lease the caller must renew.

        A queued run is claimable; so is a running one whose lease expired (its worker
        died). Anything else (a live attempt elsewhere, a finished or canceled run, a
        run out of attempts) answers why not, and writes the consequence.
        """
        now = utcnow()
        claimable = or_(
            col(Run.status).in_([s.value for s in STARTABLE]),
            and_(col(Run.status) == RunStatus.running.value, col(Run.lease_expires_at) < now),
        )
        statement = (
            update(Run)
            .where(col(Run.run_id) == run_id)
            .where(claimable)
            .where(col(Run.attempt) < max_attempts)
            .where(col(Run.cancel_requested).is_(False))
            .values(
                status=RunStatus.running.value,
                attempt=Run.attempt + 1,
                lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=lease_seconds),
                started_at=func.coalesce(Run.started_at, now),
                modified_at=now,
            )
        )
        with self.session() as session:
            claimed = session.exec(statement).rowcount == 1
            if claimed:
                # Steps left open by an earlier attempt will never end on their own.
                session.exec(
                    update(Step)
                    .where(col(Step.run_id) == run_id, col(Step.status) == "running")
                    .values(status="canceled", finished_at=now)
                )
            session.commit()
        if claimed:
            return Claim(ClaimState.claimed)
        return self._why_not_claimed(run_id, now, max_attempts)

    def _why_not_claimed(self, run_id: str, now: datetime, max_attempts: int) -> Claim:
        with self.session() as session:
            run = session.get(Run, run_id)
        if run is None:
            return Claim(ClaimState.missing)
        if RunStatus(run.status).is_final:
            return Claim(ClaimState.finished)
        live = (RunStatus.created, RunStatus.queued, RunStatus.running)
        if run.cancel_requested:
            self.transition(
                run_id,
                live,
                RunStatus.canceled,
                failure_reason="canceled by the caller",
                finished_at=now,
            )
            return Claim(ClaimState.finished)
        expires = as_utc(run.lease_expires_at)
        if run.status == RunStatus.running.value and expires is not None and expires >= now:
            return Claim(ClaimState.busy, retry_after=(expires - now).total_seconds())
        if run.attempt >= max_attempts:
            self.transition(
                run_id,
                live,
                RunStatus.failed,
                failure_reason=f"the run's worker was lost {run.attempt} times; giving up",
                finished_at=now,
            )
            return Claim(ClaimState.exhausted)
        return Claim(ClaimState.busy, retry_after=0.0)

    def dispatch(
        self, organization_id: str, window: int, publish: Callable[[str, int, str | None], bool]
    ) -> list[str]:
        """Hand the organization's waiting runs (highest priority, then oldest first)
        to ``publish`` (run id, priority, the worker holding its browser session) while fewer than
        ``window`` of its runs are on the queue or running (0: no window); returns the
        ones it published.

        The organization's row is locked meanwhile so that concurrent dispatchers (API
        processes, workers, the reaper) never overfill the window or publish a run
        twice. ``publish`` returning False (the broker is down) ends the pass.
        """
        with self.session() as session:
            # A no-op write as the lock: a row lock on Postgres, the write lock on SQLite.
            session.exec(
                update(Organization)
                .where(col(Organization.organization_id) == organization_id)
                .values(name=Organization.name)
            )
            of_org = select(Run.run_id).where(Run.organization_id == organization_id)
            free = 500
            if window:
                in_flight = of_org.where(
                    col(Run.status).in_([s.value for s in (*STARTABLE, RunStatus.running)]),
                    col(Run.enqueued_at).is_not(None),
                )
                count = select(func.count()).select_from(in_flight.subquery())
                free = max(0, window - int(session.exec(count).one()))
            # A run for a browser session goes to the worker holding it, so it waits
            # until a worker has opened the session.
            waiting = (
                select(Run.run_id, Run.priority, BrowserSession.worker)
                .outerjoin(
                    BrowserSession,
                    col(BrowserSession.browser_session_id) == col(Run.browser_session_id),
                )
                .where(Run.organization_id == organization_id)
                .where(col(Run.status).in_([s.value for s in STARTABLE]))
                .where(col(Run.enqueued_at).is_(None))
                .where(
                    or_(
                        col(Run.browser_session_id).is_(None),
                        col(BrowserSession.status) == "running",
                    )
                )
                .order_by(col(Run.priority).desc(), col(Run.created_at))
                .limit(free)
            )
            sent = []
            for run_id, priority, worker in session.exec(waiting).all() if free else []:
                if not publish(run_id, priority, worker):
                    break
                sent.append(run_id)
            if sent:
                session.exec(
                    update(Run).where(col(Run.run_id).in_(sent)).values(enqueued_at=utcnow())
                )
            session.commit()
            return sent

    def waiting_organizations(self, grace_seconds: float) -> list[str]:
        """Organizations with runs accepted more than ``grace_seconds`` ago and not yet
        on the queue: held back by their window, or accepted while the broker was down."""
        cutoff = utcnow() - timedelta(seconds=grace_seconds)
        query = (
            select(Run.organization_id)
            .where(col(Run.status).in_([s.value for s in STARTABLE]))
            .where(col(Run.enqueued_at).is_(None))
            .where(col(Run.created_at) < cutoff)
            .distinct()
        )
        with self.session() as session:
            return list(session.exec(query).all())

    def expired_leases(
        self, grace_seconds: float, limit: int = 100
    ) -> list[tuple[str, int, str | None]]:
        """Runs (id, priority, the worker holding their browser session) marked running
        whose attempt stopped renewing its lease: their worker is gone (a whole-worker
        kill leaves no one to hand the message back)."""
        cutoff = utcnow() - timedelta(seconds=grace_seconds)
        query = (
            select(Run.run_id, Run.priority, BrowserSession.worker)
            .outerjoin(
                BrowserSession,
                col(BrowserSession.browser_session_id) == col(Run.browser_session_id),
            )
            .where(Run.status == RunStatus.running.value)
            .where(col(Run.lease_expires_at) < cutoff)
            .limit(limit)
        )
        with self.session() as session:
            return [tuple(row) for row in session.exec(query).all()]  # type: ignore[misc]

    def renew_lease(self, run_id: str, owner: str, lease_seconds: float) -> bool:
        statement = (
            update(Run)
            .where(col(Run.run_id) == run_id)
            .where(col(Run.lease_owner) == owner)
            .where(col(Run.status) == RunStatus.running.value)
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        )
        with self.session() as session:
            renewed = session.exec(statement).rowcount == 1
            session.commit()
        return bool(renewed)

    def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        *,
        owner: str | None = None,
        output: Any = None,
        failure_reason: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> bool:
        """Write the terminal status, only while this attempt still holds the run.
        Raises DatabaseUnavailableError when the database cannot be reached."""
        guard = {"lease_owner": owner} if owner is not None else {}
        return self.transition(
            run_id,
            (RunStatus.running,),
            status,
            guard=guard,
            output=output,
            failure_reason=failure_reason,
            errors=errors,
            finished_at=utcnow(),
        )

    def set_workflow(
        self,
        run_id: str,
        workflow_permanent_id: str,
        *,
        script_revision_id: str | None = None,
        ai_fallback_triggered: bool | None = None,
    ) -> None:
        """Note the workflow the run published or ran (and the code revision it ran)."""
        values: dict[str, Any] = {"workflow_permanent_id": workflow_permanent_id}
        if script_revision_id is not None:
            values["script_revision_id"] = script_revision_id
        if ai_fallback_triggered is not None:
            values["ai_fallback_triggered"] = ai_fallback_triggered
        with self.session() as session:
            session.exec(update(Run).where(col(Run.run_id) == run_id).values(**values))
            session.commit()

    def request_cancel(self, run_id: str) -> bool:
        """Flag a live run for cancellation; the agent sees it at its next step boundary."""
        statement = (
            update(Run)
            .where(col(Run.run_id) == run_id)
            .where(col(Run.status).not_in([s.value for s in TERMINAL_STATUSES]))
            .values(cancel_requested=True, modified_at=utcnow())
        )
        with self.session() as session:
            result = session.exec(statement)
            session.commit()
            return bool(result.rowcount == 1)

    def is_cancel_requested(self, run_id: str) -> bool:
        with self.session() as session:
            flag = session.exec(select(Run.cancel_requested).where(Run.run_id == run_id)).first()
        return bool(flag)

    def claim_webhook(self, run_id: str) -> bool:
        """True for the one caller that gets to queue the run's webhook (a run ends
        once, but the code paths that see it end can run more than once)."""
        statement = (
            update(Run)
            .where(col(Run.run_id) == run_id)
            .where(col(Run.webhook_queued_at).is_(None))
            .values(webhook_queued_at=utcnow())
        )
        with self.session() as session:
            claimed = session.exec(statement).rowcount == 1
            session.commit()
        return bool(claimed)

    def add_delivery(self, delivery: WebhookDelivery) -> None:
        with self.session() as session:
            session.add(delivery)
            session.commit()

    def deliveries(self, run_id: str) -> list[WebhookDelivery]:
        query = (
            select(WebhookDelivery)
            .where(WebhookDelivery.run_id == run_id)
            .order_by(col(WebhookDelivery.created_at))
        )
        with self.session() as session:
            return list(session.exec(query).all())

    # steps and actions ---------------------------------------------------------

    @staticmethod
    def new_step(run: Run, order: int, url: str | None) -> Step:
        return Step(
            step_id=ids.step_id(),
            run_id=run.run_id,
            organization_id=run.organization_id,
            attempt=run.attempt,
            order=order,
            url=url,
        )

    def add_step(self, step: Step) -> None:
        with self.session() as session:
            session.add(step)
            session.exec(
                update(Run)
                .where(col(Run.run_id) == step.run_id)
                .values(step_count=step.order, modified_at=utcnow())
            )
            session.commit()

    def finish_step(
        self,
        step: Step,
        status: str,
        *,
        finished_at: datetime | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        llm_cost: float = 0.0,
    ) -> None:
        with self.session() as session:
            session.exec(
                update(Step)
                .where(col(Step.step_id) == step.step_id)
                .values(
                    status=status,
                    finished_at=finished_at or utcnow(),
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    llm_cost=llm_cost,
                )
            )
            session.exec(
                update(Run)
                .where(col(Run.run_id) == step.run_id)
                .values(
                    input_tokens=Run.input_tokens + input_tokens,
                    output_tokens=Run.output_tokens + output_tokens,
                    llm_cost=Run.llm_cost + llm_cost,
                    modified_at=utcnow(),
                )
            )
            session.commit()

    def add_action(self, action: Action) -> None:
        with self.session() as session:
            session.add(action)
            session.commit()

    def steps(self, run_id: str) -> list[Step]:
        with self.session() as session:
            query = (
                select(Step)
                .where(Step.run_id == run_id)
                .order_by(col(Step.attempt), col(Step.order))
            )
            return list(session.exec(query).all())

    def actions(self, run_id: str) -> list[Action]:
        with self.session() as session:
            query = (
                select(Action)
                .join(Step, col(Step.step_id) == col(Action.step_id))
                .where(Action.run_id == run_id)
                .order_by(col(Step.attempt), col(Step.order), col(Action.order))
            )
            return list(session.exec(query).all())

    # artifacts -----------------------------------------------------------------

    def add_artifact(self, artifact: Artifact) -> None:
        self.add_artifacts([artifact])

    def add_artifacts(self, artifacts: list[Artifact]) -> None:
        with self.session() as session:
            session.add_all(artifacts)
            session.commit()

    def get_artifact(self, artifact_id: str) -> Artifact | None:
        with self.session() as session:
            return session.get(Artifact, artifact_id)

    def artifacts(self, run_id: str, types: Iterable[str] | None = None) -> list[Artifact]:
        query = select(Artifact).where(Artifact.run_id == run_id)
        if types is not None:
            query = query.where(col(Artifact.artifact_type).in_(list(types)))
        # created_at ties within a millisecond on fast machines; the id is time-ordered too.
        query = query.order_by(col(Artifact.created_at), col(Artifact.artifact_id))
        with self.session() as session:
            return list(session.exec(query).all())


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands timezone-aware columns back naive; they were written as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
