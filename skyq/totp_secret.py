"""Codes from a stored TOTP secret (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits), as an
authenticator app makes them: a login credential with a TOTP secret needs no code
pushed or fetched."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import time


def _key(secret: str) -> bytes:
    text = secret.replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def check_secret(secret: str) -> None:
    """Raise ValueError for a secret that is not base32."""
    try:
        if not _key(secret):
            raise ValueError("is empty")
    except (binascii.Error, ValueError):
        raise ValueError("is not a base32 TOTP secret") from None


def totp_now(secret: str, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    counter = int((time.time() if at is None else at) // step)
    digest = hmac.new(_key(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)
