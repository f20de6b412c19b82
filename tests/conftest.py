"""Shared fixtures: fixture sites, the fake LLM server, one browser for the session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from skyq.bootstrap import open_run_store
from skyq.browser import BrowserRoom
from skyq.config import Settings
from skyq.db import RunStore
from skyq.db.credential_store import CredentialStore
from skyq.loop_thread import LoopThread
from skyq.runner import RunServices, browser_options, execute_run
from skyq.schemas import TaskRunRequest, TaskRunResponse, WorkflowRunRequest
from skyq.schemas.credential import CreateCredentialRequest, PasswordCredential
from skyq.storage import ArtifactStore, open_artifact_store
from skyq.workflow_runs import create_workflow_run
from tests.fake_llm import FakeLLM
from tests.sites.server import FixtureSites

for _name in [n for n in os.environ if n.startswith("SKYQ_")]:
    del os.environ[_name]  # a developer's own settings must not leak into the tests


@pytest.fixture(scope="session")
def sites() -> Iterator[FixtureSites]:
    server = FixtureSites()
    yield server
    server.close()


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLM]:
    server = FakeLLM()
    yield server
    server.close()


@pytest.fixture
def fake_llm(fake_llm_server: FakeLLM) -> Iterator[FakeLLM]:
    fake_llm_server.reset()
    yield fake_llm_server
    assert not fake_llm_server.errors, fake_llm_server.errors


def make_settings(home: Path, llm_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "llm_model": "fake-model",
        "llm_api_base": llm_url,
        "llm_max_retries": 0,
        # The computer-use engines reach the same fake server, each in its own format.
        "openai_cua_api_base": llm_url,
        "anthropic_cua_api_base": llm_url,
        "ui_tars_api_base": llm_url,
        "ui_tars_model": "ui-tars-1.5-7b",
        "navigation_timeout_seconds": 5,
        "action_timeout_seconds": 2,
        # The fixture servers live on 127.0.0.1; the canaries of the egress tests on
        # other loopback addresses stay blocked.
        "egress_allow": ["127.0.0.1"],
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path, fake_llm: FakeLLM) -> Settings:
    return make_settings(tmp_path / "skyq-home", fake_llm.url)


@pytest.fixture(scope="session")
def loop() -> Iterator[LoopThread]:
    thread = LoopThread("test-browser-loop")
    yield thread
    thread.stop()


@pytest.fixture(scope="session")
def room(loop: LoopThread) -> Iterator[BrowserRoom]:
    browser_room = BrowserRoom(browser_options(Settings()))
    yield browser_room
    loop.run(browser_room.close(), timeout=30)


@dataclass
class Embedded:
    """skyq as `skyq run` uses it: SQLite, local artifacts, the session's browser."""

    settings: Settings
    store: RunStore
    artifacts: ArtifactStore
    services: RunServices
    loop: LoopThread
    org: str

    def run(self, **request: Any) -> TaskRunResponse:
        """A run on the skyvern-1.0 loop unless the request names another engine: the
        tests of the step loop script its calls one by one, with no plan before them."""
        request.setdefault("engine", "skyvern-1.0")
        return self.run_request(TaskRunRequest(**request))

    def run_request(self, request: TaskRunRequest) -> TaskRunResponse:
        row = self.store.create_run(self.org, request)
        return self.loop.run(execute_run(row.run_id, self.services), timeout=120)

    def credential(self, password: str, totp: str | None = None) -> str:
        """A stored credential for the user "ada", sealed as the API stores one; its id."""
        login = PasswordCredential(username="ada", password=password, totp=totp)
        made = CredentialStore(self.store, self.services.sealer).create(
            self.org, CreateCredentialRequest(name="ada", credential=login)
        )
        return made.credential_id

    def run_workflow(self, workflow_id: str, **body: Any) -> TaskRunResponse:
        request = WorkflowRunRequest(workflow_id=workflow_id, **body)
        row = create_workflow_run(self.store, self.services.sealer, self.org, request)
        return self.loop.run(execute_run(row.run_id, self.services), timeout=120)


@pytest.fixture
def embedded(settings: Settings, room: BrowserRoom, loop: LoopThread) -> Embedded:
    store = open_run_store(settings)
    artifacts = open_artifact_store(settings)
    services = RunServices(settings=settings, store=store, artifacts=artifacts, room=room)
    return Embedded(settings, store, artifacts, services, loop, store.ensure_organization("test"))


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A moto S3 server on loopback; boto3 finds its dummy credentials in the env."""
    from tests.s3_server import MotoServer

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(key, value)
    server = MotoServer()
    yield server.url
    server.close()
