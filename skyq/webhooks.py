"""Webhooks: when a run ends, its TaskRunResponse is POSTed to the run's webhook_url,
signed the way Skyvern signs, so receivers written for Skyvern verify it unchanged:

    x-skyvern-signature: hex HMAC-SHA256 of the body, keyed with the API key
    x-skyvern-timestamp: unix seconds

and with Standard Webhooks' headers beside them (webhook-id, the same on every retry;
webhook-timestamp; webhook-signature), keyed with the same secret.

Redirects are not followed and only a 2xx answer counts as delivered. Each attempt is
recorded; the Celery task around ``WebhookSender.attempt`` owns the retries.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

import httpx

from skyq import ids, metrics
from skyq.config import Settings
from skyq.db import RunStore
from skyq.db.key_store import KeyStore
from skyq.db.models import WebhookDelivery
from skyq.egress import EgressBlocked, egress_policy
from skyq.egress import http as egress_http
from skyq.links import Links
from skyq.schemas import TaskRunResponse


def payload(response_json: str) -> bytes:
    """The body Skyvern sends: the response as compact JSON."""
    return json.dumps(json.loads(response_json), separators=(",", ":")).encode()


def signature_headers(
    body: bytes, signing_key: bytes | None, now: int, message_id: str | None = None
) -> dict[str, str]:
    """Skyvern's headers; with ``message_id`` also Standard Webhooks' (webhook-id,
    webhook-timestamp, webhook-signature: v1,<base64 HMAC of id.timestamp.body>)."""
    headers = {"content-type": "application/json", "x-skyvern-timestamp": str(now)}
    if signing_key is None:
        return headers
    headers["x-skyvern-signature"] = hmac.new(signing_key, body, hashlib.sha256).hexdigest()
    if message_id is not None:
        signed = f"{message_id}.{now}.".encode() + body
        mac = base64.b64encode(hmac.new(signing_key, signed, hashlib.sha256).digest()).decode()
        headers.update(
            {
                "webhook-id": message_id,
                "webhook-timestamp": str(now),
                "webhook-signature": f"v1,{mac}",
            }
        )
    return headers


def webhook_due(store: RunStore, response: TaskRunResponse) -> bool:
    """True once per run: when it has ended and asked for a webhook."""
    request = response.run_request
    if request is None or not request.webhook_url or not response.status.is_final:
        return False
    return store.claim_webhook(response.run_id)


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None = None
    error: str | None = None


class WebhookSender:
    def __init__(self, settings: Settings, store: RunStore, links: Links) -> None:
        self.settings = settings
        self.store = store
        self.keys = KeyStore(store.engine)
        self.links = links

    def attempt(self, run_id: str, attempt: int) -> Outcome:
        """One POST of the run's webhook, recorded whatever happens."""
        run = self.store.get_run(run_id)
        url = run.run_request.get("webhook_url")
        if not url:
            return Outcome(delivered=True, error="the run has no webhook_url")
        body = payload(self.links.response(run, self.store).model_dump_json())
        key = self.keys.signing_key(run.organization_id, run.api_key_id)
        # The same id on every attempt, so a receiver can drop the duplicates.
        headers = signature_headers(body, key, int(time.time()), message_id=f"msg_{run_id}")
        started = time.monotonic()
        outcome = self._post(url, body, headers)
        self.store.add_delivery(
            WebhookDelivery(
                delivery_id=ids.new_id("whd"),
                run_id=run_id,
                organization_id=run.organization_id,
                url=url,
                attempt=attempt,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=int((time.monotonic() - started) * 1000),
            )
        )
        if not outcome.delivered:
            metrics.webhook_failed()
        return outcome

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        call = egress_http.request(
            egress_policy(self.settings),
            "POST",
            url,
            content=body,
            headers=headers,
            timeout=self.settings.webhook_timeout_seconds,
        )
        try:
            answer = asyncio.run(call)  # the Celery task's own thread runs no event loop
        except EgressBlocked as exc:
            return Outcome(delivered=False, error=f"blocked by the egress policy: {exc}")
        except httpx.HTTPError as exc:
            return Outcome(delivered=False, error=f"{type(exc).__name__}: {exc}"[:300])
        if 200 <= answer.status_code < 300:
            return Outcome(delivered=True, status_code=answer.status_code)
        return Outcome(
            delivered=False,
            status_code=answer.status_code,
            error=f"the receiver answered HTTP {answer.status_code}",
        )

    def deliver_now(self, run_id: str) -> Outcome:
        """Every attempt in this process, with the backoff in between (embedded runs,
        which have no queue to retry from)."""
        outcome = Outcome(delivered=False)
        for attempt in range(1, self.settings.webhook_max_attempts + 1):
            outcome = self.attempt(run_id, attempt)
            if outcome.delivered or attempt == self.settings.webhook_max_attempts:
                break
            time.sleep(self.backoff(attempt))
        return outcome

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(self.settings.webhook_backoff_seconds * 2 ** (attempt - 1))
