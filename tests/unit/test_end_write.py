"""The terminal write rides out a short database outage (a fake store at the seam)."""

from __future__ import annotations

import asyncio

import pytest

from skyq import runner
from skyq.agent import AgentResult
from skyq.errors import DatabaseUnavailableError
from skyq.schemas import RunStatus


class FlakyStore:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def finish_run(self, run_id: str, status: RunStatus, **fields: object) -> bool:
        self.calls += 1
        if self.calls <= self.failures:
            raise DatabaseUnavailableError("down")
        return True


def test_the_end_is_written_once_the_database_is_back(monkeypatch):
    monkeypatch.setattr(runner, "END_WRITE_DELAYS", (0.01, 0.01, 0.01))
    store = FlakyStore(failures=2)
    result = AgentResult(RunStatus.completed, output={"a": 1})
    assert asyncio.run(runner.write_end(store, "tsk_1", "me", result)) is True  # type: ignore[arg-type]
    assert store.calls == 3


def test_a_long_outage_gives_up_for_the_reaper(monkeypatch):
    monkeypatch.setattr(runner, "END_WRITE_DELAYS", (0.01, 0.01))
    store = FlakyStore(failures=10)
    with pytest.raises(DatabaseUnavailableError):
        asyncio.run(runner.write_end(store, "tsk_1", "me", AgentResult(RunStatus.failed)))  # type: ignore[arg-type]
    assert store.calls == 3
