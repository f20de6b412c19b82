"""What the API process holds: settings, stores, the queue, links, named schemas."""

from __future__ import annotations

from dataclasses import dataclass

from skyq.api.limits import Limits
from skyq.api.run_endings import RunEndings
from skyq.config import Settings
from skyq.db import RunStore
from skyq.db.key_store import KeyStore
from skyq.db.models import Artifact, Run
from skyq.dispatch import Dispatcher
from skyq.links import Links
from skyq.queue import RunQueue
from skyq.schema_registry import SchemaRegistry
from skyq.schemas import TaskRunResponse
from skyq.sealing import Sealer
from skyq.signing import Signer
from skyq.storage import ArtifactStore


@dataclass
class ApiState:
    settings: Settings
    store: RunStore
    keys: KeyStore
    artifacts: ArtifactStore
    queue: RunQueue
    links: Links
    schemas: SchemaRegistry
    limits: Limits
    endings: RunEndings
    sealer: Sealer  # secret workflow parameters and stored credentials, at rest

    @property
    def dispatcher(self) -> Dispatcher:
        return Dispatcher(self.store, self.queue, self.settings.dispatch_window_per_org)

    @property
    def signer(self) -> Signer:
        return self.links.signer

    def artifact_url(self, artifact: Artifact) -> str:
        return self.links.artifact_url(artifact)

    def response(self, run: Run) -> TaskRunResponse:
        return self.links.response(run, self.store)
