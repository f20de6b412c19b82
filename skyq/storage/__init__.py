"""The storage room for files: one interface, a local-disk and an S3 implementation."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from skyq.config import Settings
from skyq.errors import ConfigurationError
from skyq.storage.base import ArtifactStore
from skyq.storage.local import LocalArtifactStore


def open_artifact_store(settings: Settings) -> ArtifactStore:
    """The store named by ``SKYQ_ARTIFACTS_URL`` (file:///path or s3://bucket/prefix)."""
    url = settings.resolved_artifacts_url
    scheme = urlsplit(url).scheme
    if scheme == "file":
        return LocalArtifactStore(Path(unquote(urlsplit(url).path)))
    if scheme == "s3":
        # boto3 is imported only when S3 is configured: the embedded path never pays for it.
        from skyq.storage.s3 import S3ArtifactStore

        return S3ArtifactStore(
            url,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            expiry_seconds=settings.presigned_url_expiry_seconds,
        )
    raise ConfigurationError(f"SKYQ_ARTIFACTS_URL={url!r}: use file:///path or s3://bucket/prefix")


__all__ = ["ArtifactStore", "LocalArtifactStore", "open_artifact_store"]
