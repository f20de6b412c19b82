"""What the API process holds: settings, stores, the queue, the link signer."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from skyq.config import Settings
from skyq.db import RunStore
from skyq.db.key_store import KeyStore
from skyq.db.models import Artifact, Run
from skyq.queue import RunQueue
from skyq.responses import task_run_response
from skyq.schema_registry import SchemaRegistry
from skyq.schemas import TaskRunResponse
from skyq.signing import Signer
from skyq.storage import ArtifactStore, LocalArtifactStore

APP_URL_LIFETIME_SECONDS = 7 * 24 * 3600


@dataclass
class ApiState:
    settings: Settings
    store: RunStore
    keys: KeyStore
    artifacts: ArtifactStore
    queue: RunQueue
    signer: Signer
    schemas: SchemaRegistry

    @property
    def base(self) -> str:
        return self.settings.public_url.rstrip("/")

    def artifact_url(self, artifact: Artifact) -> str:
        """A URL anyone holding it can GET until it expires: presigned on S3, a signed
        API route for the local store."""
        if not isinstance(self.artifacts, LocalArtifactStore):
            return self.artifacts.url(artifact.uri)
        query = self.signer.query(artifact.artifact_id, self.settings.presigned_url_expiry_seconds)
        return f"{self.base}/v1/artifacts/{quote(artifact.artifact_id)}/content?{query}"

    def app_url(self, run_id: str) -> str:
        query = self.signer.query(run_id, APP_URL_LIFETIME_SECONDS)
        return f"{self.base}/runs/{quote(run_id)}?{query}"

    def response(self, run: Run) -> TaskRunResponse:
        return task_run_response(
            run,
            self.store,
            self.artifacts,
            url_for=self.artifact_url,
            app_url=self.app_url(run.run_id),
        )
