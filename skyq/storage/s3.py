"""Artifacts in S3 (or anything that speaks it) through boto3; URLs are presigned GETs."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

import boto3
from botocore.client import Config
from botocore.exceptions import BotoCoreError, ClientError

from skyq.errors import StorageError
from skyq.storage.base import check_key


def split_s3_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise StorageError(f"not an s3:// URL: {url}")
    return parts.netloc, parts.path.strip("/")


class S3ArtifactStore:
    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        expiry_seconds: int = 3600,
        client: Any = None,
    ) -> None:
        self.bucket, self.prefix = split_s3_url(url)
        self.expiry_seconds = expiry_seconds
        self.client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def _key(self, key: str) -> str:
        key = check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _object(self, uri: str) -> tuple[str, str]:
        bucket, key = split_s3_url(uri)
        if bucket != self.bucket:
            raise StorageError(f"artifact in another bucket: {uri}")
        return bucket, key

    def put(self, key: str, data: bytes, content_type: str) -> str:
        full_key = self._key(key)
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=full_key, Body=data, ContentType=content_type
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot write s3://{self.bucket}/{full_key}: {exc}") from exc
        return f"s3://{self.bucket}/{full_key}"

    def get(self, uri: str) -> bytes:
        bucket, key = self._object(uri)
        try:
            body: bytes = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot read {uri}: {exc}") from exc
        return body

    def url(self, uri: str, *, download_as: str | None = None) -> str:
        """A presigned GET; with ``download_as`` the object is served as an attachment
        under that name, never rendered by the browser that opens the link."""
        bucket, key = self._object(uri)
        params = {"Bucket": bucket, "Key": key}
        if download_as is not None:
            params["ResponseContentDisposition"] = (
                f"attachment; filename*=UTF-8''{quote(download_as)}"
            )
        url: str = self.client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=self.expiry_seconds
        )
        return url

    def delete(self, uri: str) -> None:
        bucket, key = self._object(uri)
        try:
            self.client.delete_object(Bucket=bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot delete {uri}: {exc}") from exc
