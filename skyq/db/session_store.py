"""BrowserSessionStore: the rows of browser sessions, and what a session's end does to
the runs that were waiting for it.

A session is held by one worker process; its row says which (``worker``) and that the
process is alive (a lease it renews). Status changes are compare-and-set, like runs'.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from skyq import ids
from skyq.db.models import BrowserSession, Run, utcnow
from skyq.db.run_store import STARTABLE, RunStore, as_utc
from skyq.errors import BrowserSessionEndedError, BrowserSessionNotFoundError
from skyq.schemas import BrowserSessionStatus, CreateBrowserSessionRequest, RunStatus

LIVE = (BrowserSessionStatus.created, BrowserSessionStatus.running)


class BrowserSessionStore:
    def __init__(self, store: RunStore) -> None:
        self.store = store

    def create(self, organization_id: str, request: CreateBrowserSessionRequest) -> BrowserSession:
        now = utcnow()
        row = BrowserSession(
            browser_session_id=ids.browser_session_id(),
            organization_id=organization_id,
            status=BrowserSessionStatus.created.value,
            timeout_minutes=request.timeout,
            url=request.url,
            proxy_location=request.proxy_location,
            created_at=now,
            modified_at=now,
        )
        with self.store.session() as session:
            session.add(row)
            session.commit()
        return row

    def get(self, browser_session_id: str, organization_id: str | None = None) -> BrowserSession:
        with self.store.session() as session:
            row = session.get(BrowserSession, browser_session_id)
        if row is None or (organization_id is not None and row.organization_id != organization_id):
            raise BrowserSessionNotFoundError(f"no browser session {browser_session_id!r}")
        return row

    def list_live(self, organization_id: str) -> list[BrowserSession]:
        query = (
            select(BrowserSession)
            .where(BrowserSession.organization_id == organization_id)
            .where(col(BrowserSession.status).in_([s.value for s in LIVE]))
            .order_by(col(BrowserSession.created_at))
        )
        with self.store.session() as session:
            return list(session.exec(query).all())

    def start(self, browser_session_id: str, worker: str, lease_seconds: float) -> bool:
        """created -> running, held by ``worker``; False if it ended (closed) meanwhile."""
        now = utcnow()
        return self._transition(
            browser_session_id,
            (BrowserSessionStatus.created,),
            BrowserSessionStatus.running,
            worker=worker,
            started_at=now,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
        )

    def renew(
        self, browser_session_ids: Iterable[str], worker: str, lease_seconds: float
    ) -> set[str]:
        """Renew the leases of the sessions ``worker`` holds; the ones still running
        (the others ended elsewhere: their contexts can go)."""
        held = list(browser_session_ids)
        if not held:
            return set()
        mine = (
            col(BrowserSession.browser_session_id).in_(held),
            col(BrowserSession.worker) == worker,
            col(BrowserSession.status) == BrowserSessionStatus.running.value,
        )
        statement = (
            update(BrowserSession)
            .where(*mine)
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        )
        with self.store.session() as session:
            session.exec(statement)
            session.commit()
            return set(session.exec(select(BrowserSession.browser_session_id).where(*mine)).all())

    def set_runnable(self, browser_session_id: str, run_id: str | None) -> None:
        values: dict[str, Any] = {"runnable_id": run_id, "modified_at": utcnow()}
        values["runnable_type"] = "task" if run_id else None
        statement = (
            update(BrowserSession)
            .where(col(BrowserSession.browser_session_id) == browser_session_id)
            .values(**values)
        )
        with self.store.session() as session:
            session.exec(statement)
            session.commit()

    def end(
        self,
        browser_session_id: str,
        status: BrowserSessionStatus,
        reason: str | None = None,
    ) -> list[str]:
        """End a live session; returns the runs this failed (those still waiting for
        it and, when its worker is gone, the one running in it). Nothing when it had
        ended already."""
        if not self._transition(
            browser_session_id, LIVE, status, failure_reason=reason, completed_at=utcnow()
        ):
            return []
        stranded = list(STARTABLE)
        if status == BrowserSessionStatus.failed:
            stranded.append(RunStatus.running)  # its worker is gone: no one will end it
        why = f"browser session {browser_session_id} ended ({status.value})"
        if reason:
            why += f": {reason}"
        with self.store.session() as session:
            runs = session.exec(
                select(Run.run_id)
                .where(Run.browser_session_id == browser_session_id)
                .where(col(Run.status).in_([s.value for s in stranded]))
            ).all()
        return [
            run_id
            for run_id in runs
            if self.store.transition(
                run_id, stranded, RunStatus.failed, failure_reason=why, finished_at=utcnow()
            )
        ]

    def lost(self, grace_seconds: float) -> list[BrowserSession]:
        """Running sessions whose process stopped renewing their lease."""
        cutoff = utcnow() - timedelta(seconds=grace_seconds)
        query = (
            select(BrowserSession)
            .where(BrowserSession.status == BrowserSessionStatus.running.value)
            .where(col(BrowserSession.lease_expires_at) < cutoff)
        )
        with self.store.session() as session:
            return list(session.exec(query).all())

    def timed_out(self, now: datetime | None = None) -> list[BrowserSession]:
        """Live sessions past their timeout (counted from their start, or from their
        creation while no worker has opened them)."""
        now = now or utcnow()
        query = select(BrowserSession).where(
            col(BrowserSession.status).in_([s.value for s in LIVE])
        )
        with self.store.session() as session:
            rows = list(session.exec(query).all())
        return [row for row in rows if expires_at(row) <= now]

    def _transition(
        self,
        browser_session_id: str,
        allowed: Iterable[BrowserSessionStatus],
        to: BrowserSessionStatus,
        **fields: Any,
    ) -> bool:
        statement = (
            update(BrowserSession)
            .where(col(BrowserSession.browser_session_id) == browser_session_id)
            .where(col(BrowserSession.status).in_([s.value for s in allowed]))
            .values(status=to.value, modified_at=utcnow(), **fields)
        )
        with self.store.session() as session:
            changed = session.exec(statement).rowcount == 1
            session.commit()
        return bool(changed)


def expires_at(row: BrowserSession) -> datetime:
    began = as_utc(row.started_at) or as_utc(row.created_at) or utcnow()
    return began + timedelta(minutes=row.timeout_minutes)


def ensure_open(row: BrowserSession) -> None:
    """Raise BrowserSessionEndedError, saying how it ended, for a session that can take
    no more runs."""
    status = BrowserSessionStatus(row.status)
    if not status.is_final:
        return
    how = {
        BrowserSessionStatus.completed: "was closed",
        BrowserSessionStatus.timeout: f"timed out after {row.timeout_minutes} min",
        BrowserSessionStatus.failed: "failed",
    }[status]
    message = f"browser session {row.browser_session_id} {how}"
    if row.failure_reason and status != BrowserSessionStatus.completed:
        message += f": {row.failure_reason}"
    raise BrowserSessionEndedError(message)
