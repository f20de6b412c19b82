"""RunFiles: where an upload_file action's file comes from, a URL or a stored artifact
of the run's own organization."""

from __future__ import annotations

import asyncio
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import httpx

from skyq.agent.actions import UploadFileAction
from skyq.agent.page import FileData
from skyq.db import RunStore
from skyq.db.models import Run
from skyq.egress import EgressBlocked, EgressPolicy
from skyq.egress import http as egress_http
from skyq.errors import StorageError
from skyq.ids import ARTIFACT_PREFIX
from skyq.schemas.checks import check_http_url
from skyq.storage import ArtifactStore


class RunFiles:
    def __init__(
        self,
        run: Run,
        store: RunStore,
        artifacts: ArtifactStore,
        *,
        max_bytes: int,
        egress: EgressPolicy | None = None,
    ) -> None:
        self.egress = egress
        self.run = run
        self.store = store
        self.artifacts = artifacts
        self.max_bytes = max_bytes

    async def __call__(self, action: UploadFileAction) -> FileData:
        if action.artifact_id:
            return await self._artifact(action.artifact_id)
        if action.file_url:
            return await self._fetch(action.file_url)
        raise LookupError("upload_file needs a file_url or an artifact_id")

    async def source(self, value: str) -> FileData:
        """The file a workflow's code uploads: a stored artifact by id, or a URL."""
        if value.startswith(ARTIFACT_PREFIX):
            return await self._artifact(value)
        return await self._fetch(value)

    async def _artifact(self, artifact_id: str) -> FileData:
        artifact = await asyncio.to_thread(self.store.get_artifact, artifact_id)
        if artifact is None or artifact.organization_id != self.run.organization_id:
            raise LookupError(f"no artifact {artifact_id}")
        try:
            data = await asyncio.to_thread(self.artifacts.get, artifact.uri)
        except StorageError as exc:
            raise LookupError(f"artifact {artifact_id} cannot be read") from exc
        return FileData(artifact.filename or f"{artifact_id}.bin", data)

    async def _fetch(self, url: str) -> FileData:
        try:
            url = check_http_url(url)
        except ValueError as exc:
            raise LookupError(f"file_url {exc}") from None
        try:
            response = await egress_http.request(self.egress, "GET", url, max_redirects=3)
        except EgressBlocked as exc:
            raise LookupError(f"file_url is blocked by the egress policy: {exc}") from None
        except httpx.HTTPError as exc:
            raise LookupError(f"file_url could not be fetched: {exc}") from None
        if response.status_code != 200:
            raise LookupError(f"file_url answered HTTP {response.status_code}")
        if len(response.content) > self.max_bytes:
            raise LookupError(f"file_url is larger than {self.max_bytes} bytes")
        name = PurePosixPath(urlsplit(url).path).name or "upload.bin"
        return FileData(name, response.content)
