"""Signed, expiring links: artifact URLs of the local store and the run page (app_url).
They work without an API key, like S3's presigned URLs, and only until they expire."""

from __future__ import annotations

import hashlib
import hmac
import time


class Signer:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, value: str, expires: int) -> str:
        message = f"{value}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:40]

    def query(self, value: str, lifetime_seconds: int) -> str:
        expires = int(time.time()) + lifetime_seconds
        return f"expires={expires}&signature={self._mac(value, expires)}"

    def verify(self, value: str, expires: int, signature: str) -> bool:
        if expires < time.time():
            return False
        return hmac.compare_digest(self._mac(value, expires), signature)
