"""Politeness towards the sites runs visit: at most SKYQ_DOMAIN_MAX_CONCURRENCY runs
on one site at once and SKYQ_DOMAIN_MAX_STARTS_PER_MINUTE starts a minute, across
every worker (the counts live in Redis). A run over a limit is not started: its
delivery is retried when a place is likely to be free, and the run stays queued.

The site is the start URL's host, folded to its last two labels (shop.example.com and
www.example.com are one site), as for secrets.
"""

from __future__ import annotations

import logging
import time

import redis

from skyq.agent.sites import site_of

log = logging.getLogger(__name__)

# Atomically: drop expired places and old starts, then admit or say how long to wait.
# Returns "0" (admitted), "busy" (no free place), or seconds until a start is allowed.
_ADMIT = """
local running, starts = KEYS[1], KEYS[2]
local now, run_id = tonumber(ARGV[1]), ARGV[2]
local max_running, max_starts = tonumber(ARGV[3]), tonumber(ARGV[4])
local hold_until = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', running, '-inf', now)
local holding = redis.call('ZSCORE', running, run_id)
if max_running > 0 and not holding and redis.call('ZCARD', running) >= max_running then
  return 'busy'
end
redis.call('ZREMRANGEBYSCORE', starts, '-inf', now - 60)
if max_starts > 0 and not holding and redis.call('ZCARD', starts) >= max_starts then
  local oldest = redis.call('ZRANGE', starts, 0, 0, 'WITHSCORES')[2]
  return tostring(tonumber(oldest) + 60 - now)
end
if max_running > 0 then
  redis.call('ZADD', running, hold_until, run_id)
  redis.call('EXPIRE', running, math.ceil(hold_until - now) + 60)
end
if max_starts > 0 and not holding then
  redis.call('ZADD', starts, now, run_id)
  redis.call('EXPIRE', starts, 120)
end
return '0'
"""

BUSY_RETRY_SECONDS = 2.0


class DomainGate:
    def __init__(
        self,
        client: redis.Redis,
        *,
        max_running: int,
        max_starts_per_minute: int,
        hold_seconds: float,
    ) -> None:
        """``hold_seconds``: how long a place stays taken if its run never gives it
        back (its worker died): the run's time limit and then some."""
        self.client = client
        self.max_running = max_running
        self.max_starts = max_starts_per_minute
        self.hold_seconds = hold_seconds
        self._admit = client.register_script(_ADMIT)

    @staticmethod
    def _keys(site: str) -> list[str]:
        return [f"skyq:site:{site}:running", f"skyq:site:{site}:starts"]

    def admit(self, run_id: str, url: str | None) -> float:
        """0 when the run may start now (it holds a place until ``release``); else
        the seconds to wait before asking again."""
        site = site_of(url) if url else None
        if site is None:
            return 0.0
        now = time.time()
        try:
            answer = self._admit(
                keys=self._keys(site),
                args=[now, run_id, self.max_running, self.max_starts, now + self.hold_seconds],
            )
        except redis.RedisError:
            # Limits are a courtesy; a Redis outage must not stop every run.
            log.warning("site limits not checked: redis unavailable", extra={"run_id": run_id})
            return 0.0
        answer = answer.decode() if isinstance(answer, bytes) else str(answer)
        if answer == "busy":
            return BUSY_RETRY_SECONDS
        return max(0.0, float(answer))

    def release(self, run_id: str, url: str | None) -> None:
        site = site_of(url) if url else None
        if site is None or not self.max_running:
            return
        try:
            self.client.zrem(self._keys(site)[0], run_id)
        except redis.RedisError:
            log.warning("site place not released (it expires)", extra={"run_id": run_id})
