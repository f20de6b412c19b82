"""API keys: random, prefixed, stored as a SHA-256 hash (the key has 256 random bits,
so a slow hash buys nothing), looked up by prefix and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import Engine
from sqlmodel import Session, select

from skyq import ids
from skyq.db.models import ApiKey

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
        key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
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

    def organization_for(self, key: str | None) -> str | None:
        prefix = split_key(key) if key else None
        if prefix is None or key is None:
            return None
        with Session(self.engine) as session:
            row = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.key_hash, hash_key(key)):
            return None
        return row.organization_id
