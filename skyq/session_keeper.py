"""The worker's side of browser sessions: open one when a worker takes it off the
sessions queue, keep its lease while this process lives, close it when told.

Runs on the worker's browser loop (``services.sessions`` lives there); database calls
go to threads so that the runs sharing the loop are not held up.
"""

from __future__ import annotations

import asyncio
import logging

from skyq.db.session_store import BrowserSessionStore
from skyq.egress import egress_policy
from skyq.egress.proxy import RunRoute
from skyq.errors import SkyqError
from skyq.proxies import resolve_proxy
from skyq.runner import RunServices
from skyq.schemas import BrowserSessionStatus

log = logging.getLogger(__name__)


class SessionKeeper:
    def __init__(self, services: RunServices, worker: str) -> None:
        self.services = services
        self.worker = worker  # the Celery node whose own queue this session's runs reach
        self.rows = BrowserSessionStore(services.store)
        self._heartbeat: asyncio.Task[None] | None = None
        self._mine: set[str] = set()  # opened here and marked running

    async def open(self, browser_session_id: str) -> BrowserSessionStatus:
        """Open the session here; its status afterwards (``failed`` with the reason
        written when the browser could not give it a context)."""
        settings = self.services.settings
        row = await asyncio.to_thread(self.rows.get, browser_session_id)
        if row.status != BrowserSessionStatus.created.value:
            return BrowserSessionStatus(row.status)  # closed before it opened, or a duplicate
        try:
            proxy = resolve_proxy(row.proxy_location, settings.proxy_locations)
            policy = egress_policy(settings)
            await self.services.sessions.open(
                browser_session_id,
                proxy=proxy,
                egress=RunRoute(browser_session_id, policy, upstream=proxy) if policy else None,
                url=row.url,
                navigation_seconds=settings.navigation_timeout_seconds,
            )
        except SkyqError as exc:
            await asyncio.to_thread(
                self.rows.end, browser_session_id, BrowserSessionStatus.failed, str(exc)
            )
            return BrowserSessionStatus.failed
        started = await asyncio.to_thread(
            self.rows.start, browser_session_id, self.worker, settings.lease_seconds
        )
        if not started:  # closed while it was opening
            await self.services.sessions.close(browser_session_id)
            return BrowserSessionStatus(
                (await asyncio.to_thread(self.rows.get, browser_session_id)).status
            )
        self._mine.add(browser_session_id)
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(self._keep_leases())
        log.info(
            "browser session opened",
            extra={"browser_session_id": browser_session_id, "worker": self.worker},
        )
        return BrowserSessionStatus.running

    async def close(self, browser_session_id: str) -> bool:
        self._mine.discard(browser_session_id)
        closed = await self.services.sessions.close(browser_session_id)
        if closed:
            log.info("browser session closed", extra={"browser_session_id": browser_session_id})
        return closed

    async def close_all(self) -> list[str]:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        self._mine.clear()
        return await self.services.sessions.close_all()

    async def _keep_leases(self) -> None:
        period = self.services.settings.lease_seconds / 3
        while True:
            await asyncio.sleep(period)
            held = set(self._mine)
            try:
                running = await asyncio.to_thread(
                    self.rows.renew, held, self.worker, self.services.settings.lease_seconds
                )
            except Exception:  # a database blip must not end the sessions; the next beat retries
                log.warning("session lease renewal failed", exc_info=True)
                continue
            # Ended elsewhere (timed out, closed) and the close message never came.
            for browser_session_id in held - running:
                await self.close(browser_session_id)
