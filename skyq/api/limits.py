"""Per-key request rate and per-organization active runs, answered with 429 and a
Retry-After so a well-behaved client (skyq's SDK included) knows when to come back."""

from __future__ import annotations

import logging
import time

import redis
from fastapi import HTTPException

from skyq.config import Settings
from skyq.db import RunStore

log = logging.getLogger(__name__)


class Limits:
    def __init__(self, settings: Settings, store: RunStore) -> None:
        self.per_second = settings.api_rate_limit_per_second
        self.max_active = settings.max_active_runs_per_org
        self.store = store
        self.redis = redis.Redis.from_url(
            settings.broker_url, socket_timeout=1, socket_connect_timeout=1
        )

    def check_rate(self, api_key_id: str) -> None:
        if self.per_second <= 0:
            return
        window = int(time.time())
        name = f"skyq:rate:{api_key_id}:{window}"
        try:
            count = int(self.redis.incr(name))
            if count == 1:
                self.redis.expire(name, 2)
        except redis.RedisError:
            # Limiting is a courtesy to the fleet; when Redis is away, serving beats
            # refusing (the queue itself will say so if it is down).
            log.warning("rate limit not checked: redis unavailable")
            return
        if count > self.per_second:
            raise HTTPException(
                429,
                detail=f"more than {self.per_second} requests a second for this key",
                headers={"Retry-After": "1"},
            )

    def check_capacity(self, organization_id: str, adding: int = 1) -> None:
        active = self.store.count_active(organization_id)
        if active + adding > self.max_active:
            raise HTTPException(
                429,
                detail=f"{active} runs are queued or running for this organization "
                f"(limit {self.max_active}); try again when some have finished",
                headers={"Retry-After": "10"},
            )
