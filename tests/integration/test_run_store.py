"""The RunStore and its migration, on SQLite and on PostgreSQL (psycopg 3)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

from skyq.db import RunStore, make_engine
from skyq.db.migrate import is_current, upgrade
from skyq.db.run_store import ClaimState
from skyq.schemas import RunStatus, TaskRunRequest

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path) -> Iterator[Engine]:
    if request.param == "sqlite":
        yield make_engine(f"sqlite:///{tmp_path / 'runs.db'}")
        return
    name = f"skyq_test_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(f"postgresql://postgres@127.0.0.1:5432/{name}")
    try:
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def store(engine) -> RunStore:
    upgrade(engine)
    return RunStore(engine)


def test_migration_creates_every_table_and_matches_the_models(engine):
    assert not is_current(engine)
    upgrade(engine)
    assert is_current(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"organizations", "api_keys", "runs", "steps", "actions", "artifacts"} <= tables
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == [], "the models changed without a migration"


def test_postgres_url_uses_psycopg3():
    engine = make_engine("postgresql://postgres@127.0.0.1:5432/postgres")
    assert engine.dialect.driver == "psycopg"


def test_create_run_is_idempotent_by_id(store):
    org = store.ensure_organization("acme")
    assert store.ensure_organization("acme") == org
    request = TaskRunRequest(prompt="hello", url="https://example.com", max_steps=4)
    first = store.create_run(org, request, run_id="tsk_fixed")
    again = store.create_run(org, TaskRunRequest(prompt="other"), run_id="tsk_fixed")
    assert again.prompt == "hello" and first.run_id == again.run_id
    row = store.get_run("tsk_fixed")
    assert row.status == "queued" and row.max_steps == 4 and row.queued_at is not None
    assert row.run_request["url"] == "https://example.com"


def claim(store: RunStore, run_id: str, owner: str, lease: float = 60, attempts: int = 3):
    return store.claim_run(run_id, owner, lease_seconds=lease, max_attempts=attempts)


def test_status_changes_are_compare_and_set(store):
    org = store.ensure_organization("acme")
    run = store.create_run(org, TaskRunRequest(prompt="x"))
    assert claim(store, run.run_id, "a").state == ClaimState.claimed
    second = claim(store, run.run_id, "b")
    assert second.state == ClaimState.busy, "a second claim of a live run must lose"
    assert 55 < second.retry_after <= 60
    assert store.get_run(run.run_id).attempt == 1
    assert not store.finish_run(run.run_id, RunStatus.failed, owner="b")
    assert store.finish_run(run.run_id, RunStatus.completed, owner="a", output={"a": 1})
    assert not store.finish_run(run.run_id, RunStatus.failed, failure_reason="late")
    row = store.get_run(run.run_id)
    assert (row.status, row.output, row.failure_reason) == ("completed", {"a": 1}, None)
    assert claim(store, run.run_id, "c").state == ClaimState.finished
    assert not store.request_cancel(run.run_id), "a finished run cannot be canceled"


def test_an_expired_lease_can_be_taken_over_and_the_old_owner_cannot_finish(store):
    org = store.ensure_organization("acme")
    run = store.create_run(org, TaskRunRequest(prompt="x"))
    assert claim(store, run.run_id, "dead", lease=0).state == ClaimState.claimed
    assert claim(store, run.run_id, "alive").state == ClaimState.claimed
    row = store.get_run(run.run_id)
    assert (row.attempt, row.lease_owner) == (2, "alive")
    assert not store.renew_lease(run.run_id, "dead", 60)
    assert store.renew_lease(run.run_id, "alive", 60)
    assert not store.finish_run(run.run_id, RunStatus.completed, owner="dead")
    assert store.finish_run(run.run_id, RunStatus.completed, owner="alive")


def test_a_run_out_of_attempts_is_failed(store):
    org = store.ensure_organization("acme")
    run = store.create_run(org, TaskRunRequest(prompt="x"))
    assert claim(store, run.run_id, "a", lease=0, attempts=1).state == ClaimState.claimed
    assert claim(store, run.run_id, "b", attempts=1).state == ClaimState.exhausted
    row = store.get_run(run.run_id)
    assert row.status == "failed"
    assert row.failure_reason == "the run's worker was lost 1 times; giving up"


def test_a_queued_run_with_a_cancel_request_is_canceled_on_claim(store):
    org = store.ensure_organization("acme")
    run = store.create_run(org, TaskRunRequest(prompt="x"))
    assert store.request_cancel(run.run_id)
    assert claim(store, run.run_id, "a").state == ClaimState.finished
    assert store.get_run(run.run_id).status == "canceled"


def test_concurrent_claims_let_exactly_one_win(store):
    org = store.ensure_organization("acme")
    run = store.create_run(org, TaskRunRequest(prompt="x"))
    with ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(lambda i: claim(store, run.run_id, f"w{i}"), range(8)))
    assert [c.state for c in claims].count(ClaimState.claimed) == 1


def test_organization_scoping_of_reads(store):
    from skyq.errors import RunNotFoundError

    a = store.ensure_organization("a")
    b = store.ensure_organization("b")
    run = store.create_run(a, TaskRunRequest(prompt="x"))
    assert store.get_run(run.run_id, a).run_id == run.run_id
    with pytest.raises(RunNotFoundError):
        store.get_run(run.run_id, b)
    assert [r.run_id for r in store.list_runs(b)] == []


def test_dispatch_fills_the_window_once_however_many_dispatch_at_once(store):
    org = store.ensure_organization("burst")
    other = store.ensure_organization("other")
    runs = [store.create_run(org, TaskRunRequest(prompt=f"run {n}")).run_id for n in range(12)]
    published: list[str] = []

    def dispatch(_: int) -> list[str]:
        return store.dispatch(org, 4, lambda run_id, *_: published.append(run_id) is None)

    with ThreadPoolExecutor(6) as pool:
        sent = [run_id for batch in pool.map(dispatch, range(6)) for run_id in batch]
    assert sorted(sent) == sorted(published) == sorted(runs[:4]), "the oldest four, once each"
    # Another organization has its own window.
    theirs = store.create_run(other, TaskRunRequest(prompt="theirs")).run_id
    assert store.dispatch(other, 4, lambda *_: True) == [theirs]
    # A run that ends frees its place for the next oldest.
    store.transition(runs[0], (RunStatus.queued,), RunStatus.canceled)
    assert store.dispatch(org, 4, lambda *_: True) == [runs[4]]
    # A broker that refuses ends the pass; nothing is marked as sent.
    store.transition(runs[1], (RunStatus.queued,), RunStatus.canceled)
    assert store.dispatch(org, 4, lambda *_: False) == []
    assert store.waiting_organizations(grace_seconds=0) == [org]
    assert store.dispatch(org, 0, lambda *_: True) == runs[5:], "window 0: everything"


def test_dispatch_sends_higher_priority_first_and_keeps_order_within_one(store):
    org = store.ensure_organization("mixed")
    batch = [store.create_run(org, TaskRunRequest(prompt=f"b{n}", priority=2)) for n in range(3)]
    urgent = store.create_run(org, TaskRunRequest(prompt="now", priority=9))
    plain = store.create_run(org, TaskRunRequest(prompt="plain"))
    sent: list[tuple[str, int]] = []
    store.dispatch(org, 0, lambda run_id, priority, _: sent.append((run_id, priority)) is None)
    assert sent == [
        (urgent.run_id, 9),
        (plain.run_id, 5),
        *((run.run_id, 2) for run in batch),
    ]


@pytest.mark.postgres
def test_the_run_ended_listener_wakes_on_every_ending_and_nothing_else(tmp_path):
    """RunEndings (the API's long polls) hears a run end, whichever path ends it, and
    is not woken by a run that only starts."""
    import asyncio

    from skyq.api.run_endings import RunEndings

    name = f"skyq_test_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        store = RunStore(engine)
        org = store.ensure_organization("acme")
        runs = [store.create_run(org, TaskRunRequest(prompt=f"p{i}")).run_id for i in range(2)]

        async def scenario() -> tuple[bool, bool]:
            endings = RunEndings(url)
            endings.start()
            try:
                while not endings.listening:
                    await asyncio.sleep(0.01)
                with endings.waiting(runs[0]) as first, endings.waiting(runs[1]) as second:
                    # The second run only starts, then the first ends: PostgreSQL sends
                    # notifications in commit order, so had the start notified, the
                    # second event would be set before the first.
                    move, queued = store.transition, (RunStatus.queued,)
                    assert await asyncio.to_thread(move, runs[1], queued, RunStatus.running)
                    assert await asyncio.to_thread(move, runs[0], queued, RunStatus.canceled)
                    await asyncio.wait_for(first.wait(), 30)
                    return first.is_set(), second.is_set()
            finally:
                await endings.stop()

        assert asyncio.run(scenario()) == (True, False)
    finally:
        engine.dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
