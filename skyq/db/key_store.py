"""API keys: random, prefixed, stored as a SHA-256 hash (the key has 256 random bits,
so a slow hash buys nothing), looked up by prefix and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from skyq import ids
from skyq.db.models import ApiKey, utcnow

KEY_PREFIX = "skyq"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def split_key(key: str) -> str | None:
    """The key's lookup prefix, or None for anything not shaped like a skyq key."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 8:
        return None
    return parts[1]


class KeyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, organization_id: str) -> str:
        """A new key for the organization. The plaintext is returned once, never stored."""
        prefix = secrets.token_hex(4)
        # Longer than SHA-256's 64-byte block on purpose: HMAC then keys itself with
        # sha256(key), which is what we store, so webhooks can be signed the way
        # Skyvern signs them (HMAC keyed with the API key) without keeping the key.
        key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(48)}"
        with Session(self.engine) as session:
            session.add(
                ApiKey(
                    api_key_id=ids.new_id("key"),
                    organization_id=organization_id,
                    prefix=prefix,
                    key_hash=hash_key(key),
                )
            )
            session.commit()
        return key

    def revoke(self, prefix: str) -> bool:
        """Revoke the key with this prefix (the 8 characters after ``skyq_``)."""
        with Session(self.engine) as session:
            row = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
            if row is None or row.revoked_at is not None:
                return False
            row.revoked_at = utcnow()
            session.add(row)
            session.commit()
        return True

    def find(self, key: str | None) -> ApiKey | None:
        """The live key row for ``key``, or None."""
        prefix = split_key(key) if key else None
        if prefix is None or key is None:
            return None
        with Session(self.engine) as session:
            row = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.key_hash, hash_key(key)):
            return None
        return row

    def signing_key(self, organization_id: str, api_key_id: str | None) -> bytes | None:
        """The HMAC key equivalent to the API key that created the run (or, for runs
        created without one, the organization's newest key)."""
        with Session(self.engine) as session:
            query = select(ApiKey).where(
                ApiKey.organization_id == organization_id, col(ApiKey.revoked_at).is_(None)
            )
            if api_key_id:
                query = query.where(ApiKey.api_key_id == api_key_id)
            row = session.exec(query.order_by(col(ApiKey.created_at).desc())).first()
        return bytes.fromhex(row.key_hash) if row else None
