"""RunEndings: wakes the API's long polls the moment a run ends.

A long poll that re-read the run every 100 ms cost the API a query per waiting
client ten times a second: with a dozen clients waiting that was most of the API's
CPU and nine tenths of the database's transactions per run (bench/, issue 7). Here
one connection per API process LISTENs on the channel a trigger on ``runs`` notifies
(migration 0008) and sets the waiting polls' events. A poll still re-reads now and
then, so a notification lost while the listener reconnects costs a moment, never
an answer; on SQLite (no NOTIFY) polls keep polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import psycopg
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

CHANNEL = "skyq_run_ended"
RECONNECT_SECONDS = 1.0


class RunEndings:
    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self._dsn = (
            url.set(drivername="postgresql").render_as_string(hide_password=False)
            if url.get_backend_name() == "postgresql"
            else None
        )
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self.listening = False

    def start(self) -> None:
        """Listen from the running loop on, when the database can notify."""
        if self._dsn is not None and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._listen(self._dsn))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @contextlib.contextmanager
    def waiting(self, run_id: str) -> Iterator[asyncio.Event]:
        """An event set when ``run_id`` ends; enter it before reading the run, so an
        end between the read and the wait is not missed."""
        event = asyncio.Event()
        self._waiters.setdefault(run_id, set()).add(event)
        try:
            yield event
        finally:
            events = self._waiters.get(run_id)
            if events is not None:
                events.discard(event)
                if not events:
                    del self._waiters[run_id]

    async def _listen(self, dsn: str) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening = True
                    async for note in conn.notifies():
                        for event in self._waiters.get(note.payload, ()):
                            event.set()
            except (psycopg.Error, OSError) as exc:
                log.warning("run-end listener lost its connection", extra={"error": str(exc)})
            finally:
                self.listening = False
            await asyncio.sleep(RECONNECT_SECONDS)
