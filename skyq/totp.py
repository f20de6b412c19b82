"""One-time codes for 2FA logins: pushed to POST /v1/credentials/totp under a
``totp_identifier``, or fetched from the caller's ``totp_url``. The model never sees a
code: it types the placeholder, and skyq types the code in its place."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import datetime

import httpx
from sqlmodel import col, select

from skyq import ids
from skyq.db import RunStore
from skyq.db.key_store import KeyStore
from skyq.db.models import Run, TotpCode, utcnow
from skyq.db.run_store import as_utc
from skyq.egress import EgressBlocked, EgressPolicy
from skyq.egress import http as egress_http
from skyq.totp_secret import totp_now
from skyq.webhooks import signature_headers

_SIX = re.compile(r"(?<!\d)(\d{6})(?!\d)")
_ANY = re.compile(r"(?<!\d)(\d{4,8})(?!\d)")


def extract_code(content: str) -> str | None:
    """The code in a bare code, or in an email or SMS text ('Your code is 123456')."""
    text = content.strip()
    if re.fullmatch(r"\d{4,8}", text):
        return text
    found = _SIX.search(text) or _ANY.search(text)
    return found.group(1) if found else None


class TotpStore:
    def __init__(self, store: RunStore) -> None:
        self.store = store

    def push(
        self,
        organization_id: str,
        identifier: str,
        code: str,
        *,
        task_id: str | None = None,
        source: str | None = None,
        expired_at: datetime | None = None,
    ) -> TotpCode:
        row = TotpCode(
            totp_code_id=ids.new_id("totp"),
            organization_id=organization_id,
            totp_identifier=identifier,
            code=code,
            task_id=task_id,
            source=source,
            expired_at=expired_at,
        )
        with self.store.session() as session:
            session.add(row)
            session.commit()
        return row

    def newest(self, run: Run, identifier: str) -> str | None:
        """The newest live code for the identifier, pushed after the run was created
        (and for this run, when the push named one)."""
        query = (
            select(TotpCode)
            .where(TotpCode.organization_id == run.organization_id)
            .where(TotpCode.totp_identifier == identifier)
            .where(col(TotpCode.created_at) >= run.created_at)
            .order_by(col(TotpCode.created_at).desc())
        )
        now = utcnow()
        with self.store.session() as session:
            for row in session.exec(query).all():
                if row.task_id not in (None, run.run_id):
                    continue
                expires = as_utc(row.expired_at)
                if expires is not None and expires < now:
                    continue
                return row.code
        return None


class RunCodes:
    """The run's code source: waits for a pushed code, or asks the totp_url, until
    ``wait_seconds`` have passed."""

    def __init__(
        self,
        run: Run,
        store: RunStore,
        *,
        wait_seconds: float,
        poll_seconds: float,
        egress: EgressPolicy | None = None,
    ) -> None:
        self.egress = egress
        self.run = run
        self.store = store
        self.totp = TotpStore(store)
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds

    async def __call__(self) -> str:
        request = self.run.run_request
        identifier, url = request.get("totp_identifier"), request.get("totp_url")
        if not identifier and not url:
            raise LookupError("this run has no totp_identifier or totp_url")
        deadline = time.monotonic() + self.wait_seconds
        while True:
            code = await self._ask_url(url) if url else None
            if code is None and identifier:
                code = await asyncio.to_thread(self.totp.newest, self.run, identifier)
            if code is not None:
                return code
            if time.monotonic() > deadline:
                raise LookupError(f"no verification code arrived within {self.wait_seconds:g}s")
            await asyncio.sleep(self.poll_seconds)

    async def _ask_url(self, url: str) -> str | None:
        body = json.dumps(
            {"task_id": self.run.run_id, "workflow_run_id": None, "workflow_permanent_id": None},
            separators=(",", ":"),
        ).encode()
        key = KeyStore(self.store.engine).signing_key(self.run.organization_id, self.run.api_key_id)
        headers = signature_headers(body, key, int(time.time()))
        try:
            answer = await egress_http.request(
                self.egress, "POST", url, content=body, headers=headers
            )
            code = answer.json().get("verification_code") if answer.status_code == 200 else None
        except EgressBlocked as exc:
            raise LookupError(f"totp_url is blocked by the egress policy: {exc}") from None
        except (httpx.HTTPError, ValueError, AttributeError):
            return None  # the endpoint may not be ready yet: ask again next poll
        return extract_code(str(code)) if code else None


class SecretCodes:
    """The agent's CodeSource for a credential that carries its TOTP secret: the
    current code, made here as an authenticator app would."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    async def __call__(self) -> str:
        return totp_now(self._secret)
