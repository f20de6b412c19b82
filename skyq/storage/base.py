"""The artifact store seam: bytes in under a key, a URI back, a URL to read it."""

from __future__ import annotations

from typing import Protocol


class ArtifactStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> str:
        """Store ``data`` under ``key`` and return its URI (``file://`` or ``s3://``)."""
        ...

    def get(self, uri: str) -> bytes:
        """Read back what ``put`` stored. Raises StorageError."""
        ...

    def url(self, uri: str, *, download_as: str | None = None) -> str:
        """A URL a caller can GET: presigned for S3 (served as an attachment named
        ``download_as`` when given), a file URL on local disk."""
        ...

    def delete(self, uri: str) -> None:
        """Remove the object; missing objects are not an error."""
        ...


def check_key(key: str) -> str:
    parts = key.split("/")
    if key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"bad artifact key {key!r}")
    return key
