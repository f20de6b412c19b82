"""Secrets kept at rest (stored passwords, TOTP secrets, secret workflow parameters),
sealed with a key derived from SKYQ_SECRET_KEY: every API and worker process needs the
same secret to open what another sealed."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from skyq.errors import ConfigurationError

SEALED_PREFIX = "sealed:"


class Sealer:
    def __init__(self, secret: bytes) -> None:
        key = hashlib.sha256(b"skyq-sealing-v1\n" + secret).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, value: str) -> str:
        return SEALED_PREFIX + self._fernet.encrypt(value.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.removeprefix(SEALED_PREFIX).encode()).decode()
        except InvalidToken:
            raise ConfigurationError(
                "a stored secret cannot be opened: SKYQ_SECRET_KEY differs from the key "
                "it was sealed with"
            ) from None


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)
