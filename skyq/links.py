"""Links a caller can follow without an API key: presigned S3 URLs, or signed links to
the API for the local store; and the run page (``app_url``). The API and the workers
(webhook payloads) make the same links."""

from __future__ import annotations

from urllib.parse import quote

from skyq.bootstrap import secret_key
from skyq.config import Settings
from skyq.db import RunStore
from skyq.db.models import Artifact, Run
from skyq.responses import task_run_response
from skyq.schemas import TaskRunResponse
from skyq.signing import Signer
from skyq.storage import ArtifactStore, LocalArtifactStore

APP_URL_LIFETIME_SECONDS = 7 * 24 * 3600


class Links:
    def __init__(self, settings: Settings, artifacts: ArtifactStore, signer: Signer) -> None:
        self.settings = settings
        self.artifacts = artifacts
        self.signer = signer

    @classmethod
    def from_settings(cls, settings: Settings, artifacts: ArtifactStore) -> Links:
        return cls(settings, artifacts, Signer(secret_key(settings)))

    @property
    def base(self) -> str:
        return self.settings.public_url.rstrip("/")

    def artifact_url(self, artifact: Artifact) -> str:
        if not isinstance(self.artifacts, LocalArtifactStore):
            # A downloaded file is the site's content: served as an attachment, never
            # rendered where the link is opened.
            name = artifact.filename or artifact.artifact_id
            download = artifact.artifact_type == "download"
            return self.artifacts.url(artifact.uri, download_as=name if download else None)
        query = self.signer.query(artifact.artifact_id, self.settings.presigned_url_expiry_seconds)
        return f"{self.base}/v1/artifacts/{quote(artifact.artifact_id)}/content?{query}"

    def app_url(self, run_id: str) -> str:
        query = self.signer.query(run_id, APP_URL_LIFETIME_SECONDS)
        return f"{self.base}/runs/{quote(run_id)}?{query}"

    def response(self, run: Run, store: RunStore) -> TaskRunResponse:
        return task_run_response(
            run, store, self.artifacts, url_for=self.artifact_url, app_url=self.app_url(run.run_id)
        )
