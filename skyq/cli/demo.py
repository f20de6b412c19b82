"""`skyq demo`: the bundled shop and a bundled published workflow, run as code (no
model needed) through the queue, a worker, the browser and the store, where a broker
answers; in this process (the embedded mode) where none does."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import click

from skyq.bootstrap import open_run_store, secret_key
from skyq.cli.main import EXIT_NOT_COMPLETED, cli, fail, load_settings
from skyq.config import Settings
from skyq.db import RunStore
from skyq.db.workflow_store import WorkflowStore
from skyq.demo import SITE, TOP3_PROMPT, TOP3_WORKFLOW
from skyq.responses import task_run_response
from skyq.schemas import RunStatus, TaskRunResponse, WorkflowRunRequest
from skyq.sealing import Sealer
from skyq.storage import open_artifact_store
from skyq.workflow_runs import create_workflow_run

WORKER_READY_SECONDS = 90.0
RUN_SECONDS = 120.0


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *_: Any) -> None:
        """The demo prints its run, not the shop's access log."""


@contextlib.contextmanager
def demo_shop() -> Iterator[str]:
    """The bundled shop on a free loopback port; its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(SITE)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@cli.command()
@click.option(
    "--in-process",
    is_flag=True,
    help="Run here (the embedded mode) even where a broker answers.",
)
def demo(in_process: bool) -> None:
    """Run the bundled workflow (the top 3 products of the bundled shop) as code, with
    no model, and print the run with its artifacts."""
    settings = load_settings()
    if not settings.chromium_path.exists():
        fail(f"Chromium not found at {settings.chromium_path}: apt-get install chromium")
    store = open_run_store(settings, auto_migrate=True)
    org = store.ensure_organization(settings.organization_name)
    workflows, code = WorkflowStore(store), TOP3_WORKFLOW.read_text()
    workflow = workflows.for_task(org, TOP3_PROMPT, None)
    if workflow is None or workflows.revision(workflow.workflow_permanent_id).code != code:
        workflow, _ = workflows.publish(
            org,
            title=TOP3_PROMPT,
            prompt=TOP3_PROMPT,
            url=None,
            schema=None,
            code=code,
            run_id=None,
        )
    with demo_shop() as shop:
        # The shop is on loopback, which the egress guard keeps runs out of: open exactly
        # its address, for this demo only.
        allow = [*settings.egress_allow, shop.removeprefix("http://").rstrip("/")]
        settings = settings.model_copy(update={"egress_allow": allow})
        run = create_workflow_run(
            store,
            Sealer(secret_key(settings)),
            org,
            WorkflowRunRequest(
                workflow_id=workflow.workflow_permanent_id,
                parameters={"shop_url": shop},
                run_with="code",
            ),
        )
        click.echo(
            f"skyq demo: workflow {workflow.workflow_permanent_id}, run {run.run_id}", err=True
        )
        if not in_process and _broker_answers(settings):
            response = _through_a_worker(settings, store, run.run_id)
        else:
            click.echo("skyq demo: no broker answers; running in this process", err=True)
            response = _here(settings, store, run.run_id)
    click.echo(response.model_dump_json(indent=2))
    for artifact in store.artifacts(response.run_id):
        click.echo(
            f"{artifact.artifact_type:<18} {artifact.file_size:>8}  {artifact.uri}", err=True
        )
    if response.status != RunStatus.completed:
        fail(
            f"run {response.run_id} {response.status.value}: {response.failure_reason}",
            EXIT_NOT_COMPLETED,
        )


def _broker_answers(settings: Settings) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(settings.broker_url, socket_timeout=1).ping())
    except (redis.RedisError, OSError, ValueError):
        return False


def _through_a_worker(settings: Settings, store: RunStore, run_id: str) -> TaskRunResponse:
    """A `skyq worker` of its own (threads pool, one run at a time), sent the run on its
    direct queue, so a deployment's workers on the same broker never see it."""
    from skyq.queue import RunQueue, make_celery

    node = f"skyq-demo-{secrets.token_hex(3)}@{socket.gethostname()}"
    env = {
        **os.environ,
        "SKYQ_HOME": str(settings.home),
        "SKYQ_EGRESS_ALLOW": json.dumps(settings.egress_allow),
        "SKYQ_WORKER_METRICS_PORT": "0",
    }
    log = settings.home / "demo-worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "skyq",
                "worker",
                "-P",
                "threads",
                "-c",
                "1",
                "--queues",
                "skyq.demo",
                "-n",
                node,
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for(
            lambda: "ready." in log.read_text(errors="replace"),
            WORKER_READY_SECONDS,
            f"the demo worker (its log: {log})",
            worker,
        )
        click.echo(f"skyq demo: worker {node} is up; queueing the run", err=True)
        RunQueue(make_celery(settings)).enqueue(run_id, worker=node)
        _wait_for(
            lambda: RunStatus(store.get_run(run_id).status).is_final,
            RUN_SECONDS,
            f"run {run_id} (worker log: {log})",
            worker,
        )
    finally:
        worker.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(timeout=30)
        if worker.poll() is None:
            worker.kill()
    return task_run_response(store.get_run(run_id), store, open_artifact_store(settings))


def _here(settings: Settings, store: RunStore, run_id: str) -> TaskRunResponse:
    import asyncio

    from skyq.cli.main import execute_here

    response: TaskRunResponse = asyncio.run(
        execute_here(run_id, settings, store, open_artifact_store(settings))
    )
    return response


def _wait_for(check: Any, seconds: float, what: str, worker: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if worker.poll() is not None:
            fail(f"the demo worker stopped before {what} was done")
        if time.monotonic() > deadline:
            fail(f"gave up waiting for {what}", EXIT_NOT_COMPLETED)
        time.sleep(0.2)
