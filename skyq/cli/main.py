"""The ``skyq`` command. Exit codes: 0 the run completed, 1 it ended otherwise (or a
run was not found), 2 a usage error (bad flag, bad input, missing configuration)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from pydantic import ValidationError

from skyq import logs, metrics
from skyq.agent.recorder import StepReport
from skyq.bootstrap import open_run_store
from skyq.browser import missing_chromium_message
from skyq.config import Settings
from skyq.db import RunStore
from skyq.db.models import utcnow
from skyq.errors import ConfigurationError, InvalidRequestError, SkyqError, invalid_request
from skyq.llm import resolve_model
from skyq.responses import task_run_response, timeline
from skyq.schema_registry import SchemaRegistry
from skyq.schemas import RunEngine, RunStatus, TaskRunRequest, TaskRunResponse
from skyq.storage import open_artifact_store

EXIT_NOT_COMPLETED = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"skyq: error: {message}", err=True)
    sys.exit(code)


def load_settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        fail(_first_problem(exc, prefix="SKYQ_"))
    logs.configure(settings.log_level)
    return settings


def _first_problem(exc: ValidationError, prefix: str = "") -> str:
    problem = invalid_request(exc)
    field = prefix + problem.field.upper() if prefix else problem.field
    return f"{field}: {problem.message.removeprefix('Value error, ')}"


_FLAGS = {"data_extraction_schema": "--schema", "max_steps": "--max-steps", "url": "--url"}


def _flag_names(problem: str) -> str:
    field, _, rest = problem.partition(":")
    return f"{_FLAGS.get(field, field)}:{rest}"


def schema_argument(value: str | None) -> Any:
    if value is None:
        return None
    path = Path(value)
    if not value.lstrip().startswith(("{", "[")) and path.suffix.lower() == ".json":
        if not path.is_file():
            fail(f"--schema: no such file {value}")
        return path.read_text()
    return value


@click.group()
@click.version_option(package_name="skyq")
def cli() -> None:
    """skyq: AI browser tasks at volume."""


@cli.command()
@click.argument("prompt")
@click.option("--url", help="The page to start on (http or https).")
@click.option("--schema", help="data_extraction_schema: a JSON file or JSON text.")
@click.option("--max-steps", type=int, help="Steps before the run ends timed_out.")
@click.option("--model", help="litellm model string for this run (default SKYQ_LLM_MODEL).")
@click.option(
    "--engine",
    type=click.Choice([e.value for e in RunEngine]),
    default=RunEngine.skyvern_v2.value,
    show_default=True,
    help="Which loop runs the task (docs/engines.md).",
)
@click.option("--title", help="A title stored with the run.")
def run(
    prompt: str,
    url: str | None,
    schema: str | None,
    max_steps: int | None,
    model: str | None,
    engine: str,
    title: str | None,
) -> None:
    """Run one task here, in this process, and print its TaskRunResponse JSON."""
    settings = load_settings()
    try:
        request = TaskRunRequest(
            prompt=prompt,
            url=url,
            data_extraction_schema=schema_argument(schema),
            max_steps=max_steps,
            model={"model_name": model} if model else None,
            engine=RunEngine(engine),
            title=title,
        )
    except ValidationError as exc:
        fail(_flag_names(_first_problem(exc)))
    _check_can_run(settings, request)
    request = SchemaRegistry.from_import_paths(settings.extraction_models).resolve(request)
    store = open_run_store(settings)
    artifacts = open_artifact_store(settings)
    org = store.ensure_organization(settings.organization_name)
    run_row = store.create_run(org, request)
    try:
        response = asyncio.run(execute_here(run_row.run_id, settings, store, artifacts))
    except KeyboardInterrupt:
        store.transition(
            run_row.run_id,
            (RunStatus.queued, RunStatus.running),
            RunStatus.canceled,
            failure_reason="interrupted (Ctrl-C)",
            finished_at=utcnow(),
        )
        fail(f"run {run_row.run_id} interrupted", 130)
    click.echo(response.model_dump_json(indent=2))
    _send_webhook(settings, store, artifacts, response)
    if response.status != RunStatus.completed:
        click.echo(
            f"skyq: run {response.run_id} {response.status.value}: {response.failure_reason}",
            err=True,
        )
        sys.exit(EXIT_NOT_COMPLETED)


def _send_webhook(
    settings: Settings, store: RunStore, artifacts: Any, response: TaskRunResponse
) -> None:
    from skyq.links import Links
    from skyq.webhooks import WebhookSender, webhook_due

    if not webhook_due(store, response):
        return
    sender = WebhookSender(settings, store, Links.from_settings(settings, artifacts))
    outcome = sender.deliver_now(response.run_id)
    if not outcome.delivered:
        click.echo(f"skyq: webhook not delivered: {outcome.error}", err=True)


def _check_can_run(settings: Settings, request: TaskRunRequest) -> None:
    """Fail before any browser starts on what the run would trip over."""
    from skyq.engines import COORDINATE_ENGINES, ensure_supported
    from skyq.llm.config import screen_models
    from skyq.llm.litellm_client import LiteLLMClient

    ensure_supported(request)
    if request.engine in COORDINATE_ENGINES:
        models = screen_models(settings, request.engine.value, request.model_name)
        LiteLLMClient(models.driver).check_environment()
    else:
        LiteLLMClient(resolve_model(settings, request.model_name)).check_environment()
    if not settings.chromium_path.exists():
        raise ConfigurationError(missing_chromium_message(settings.chromium_path))


async def execute_here(run_id: str, settings: Settings, store: RunStore, artifacts: Any) -> Any:
    from skyq.browser import BrowserRoom
    from skyq.runner import RunServices, browser_options, execute_run

    room = BrowserRoom(browser_options(settings))
    services = RunServices(settings=settings, store=store, artifacts=artifacts, room=room)
    try:
        return await execute_run(run_id, services, on_step=_print_step)
    finally:
        await room.close()


def _print_step(report: StepReport) -> None:
    actions = (
        ", ".join(
            f"{kind} {json.dumps(text, ensure_ascii=False)}" if text else kind
            for kind, text in report.actions
        )
        or "(no action)"
    )
    click.echo(
        f"step {report.order}/{report.max_steps}  {actions}  {report.elapsed_seconds:.2f}s",
        err=True,
    )


@cli.group()
def runs() -> None:
    """Read the runs in the store."""


@runs.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
def runs_list(limit: int) -> None:
    """The newest runs, one a line."""
    settings = load_settings()
    store = open_run_store(settings)
    for row in store.list_runs(limit=limit):
        prompt = " ".join(row.prompt.split())
        click.echo(
            f"{row.run_id}  {row.status:<10} {row.step_count:>3} steps  "
            f"{row.created_at:%Y-%m-%d %H:%M:%S}  {prompt[:60]}"
        )


@runs.command("show")
@click.argument("run_id")
def runs_show(run_id: str) -> None:
    """One run as TaskRunResponse JSON, with its timeline of steps and actions."""
    settings = load_settings()
    store = open_run_store(settings)
    row = store.get_run(run_id)
    body = task_run_response(row, store, open_artifact_store(settings)).model_dump(mode="json")
    body["timeline"] = [entry.model_dump(mode="json") for entry in timeline(store, run_id)]
    click.echo(json.dumps(body, indent=2, ensure_ascii=False))


@cli.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the Alembic migrations to SKYQ_DATABASE_URL."""
    from skyq.db import make_engine
    from skyq.db.migrate import upgrade

    settings = load_settings()
    upgrade(make_engine(settings.resolved_database_url), revision)
    click.echo(f"database at revision {revision}", err=True)


@cli.command()
@click.option("--host", help="Interface to listen on (default SKYQ_API_HOST).")
@click.option("--port", type=int, help="Port (default SKYQ_API_PORT).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
def api(host: str | None, port: int | None, workers: int) -> None:
    """Serve the REST API (Skyvern's /v1 task-run routes) with uvicorn."""
    import uvicorn

    settings = load_settings()
    open_run_store(settings)  # fail here, in one line, if the database is not usable
    uvicorn.run(
        "skyq.api.app:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        workers=workers,
        log_level=settings.log_level.lower(),
    )


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option(
    "--pool",
    "-P",
    type=click.Choice(["prefork", "threads"]),
    help="prefork: a child process and a Chromium per concurrent run; threads: every "
    "run a context of this worker's one Chromium (default SKYQ_WORKER_POOL).",
)
@click.option("--concurrency", "-c", type=click.IntRange(1, 256), help="Runs at once.")
@click.option(
    "--autoscale", help="MAX,MIN child processes, grown and shrunk with the load (prefork)."
)
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.option(
    "--queues",
    "-Q",
    help="Read these queues (comma-separated) instead of skyq's own; the worker's "
    "direct queue is read either way.",
)
@click.pass_context
def worker(
    ctx: click.Context,
    pool: str | None,
    concurrency: int | None,
    autoscale: str | None,
    loglevel: str,
    queues: str | None,
) -> None:
    """Run a Celery worker on the skyq.runs queue.

    On prefork each child owns one Chromium; on threads the runs share the worker's.
    Other options are passed to `celery worker` as they are."""
    from skyq.llm.litellm_client import preload
    from skyq.queue import RUNS_QUEUE, SESSIONS_QUEUE, WEBHOOKS_QUEUE
    from workers import orphans
    from workers.celery_app import app

    settings = load_settings()
    pool = pool or settings.worker_pool
    if autoscale and pool != "prefork":
        fail("--autoscale needs --pool prefork: the threads pool has a fixed size")
    open_run_store(settings)
    metrics.use_multiprocess_dir(settings.home / "metrics" / str(os.getpid()))
    if settings.worker_metrics_port:
        try:
            metrics.serve_multiprocess(settings.worker_metrics_port)
        except OSError as exc:
            fail(
                f"SKYQ_WORKER_METRICS_PORT: cannot listen on {settings.worker_metrics_port}: {exc}"
            )
    preload()
    orphans.start()
    if not queues:
        queues = f"{RUNS_QUEUE},{WEBHOOKS_QUEUE}"
        if pool == "threads":  # browser sessions live in one process: the threads pool's
            queues += f",{SESSIONS_QUEUE}"
    argv = ["worker", "-Q", queues, "-P", pool, "--loglevel", loglevel, "-E"]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    if autoscale:
        argv += ["--autoscale", autoscale]
    app.worker_main([*argv, *ctx.args])


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--address", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=int, default=5555, show_default=True)
@click.pass_context
def flower(ctx: click.Context, address: str, port: int) -> None:
    """Run Flower on skyq's Celery app: workers, runs and their progress (a running
    run's state is RUNNING, with step, max_steps, url and last action).

    Other options go to Flower as they are (--basic-auth=user:pass, --url-prefix=...).
    Flower's HTTP API answers without credentials only when FLOWER_UNAUTHENTICATED_API
    is set; expose it only behind your own authentication."""
    from workers.celery_app import app

    load_settings()
    app.start(["flower", f"--address={address}", f"--port={port}", *ctx.args])


@cli.command()
@click.option("--loglevel", "-l", default="INFO", show_default=True)
def beat(loglevel: str) -> None:
    """Run the scheduler: it reaps runs whose worker died (one beat per deployment)."""
    from workers.celery_app import app

    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    app.Beat(loglevel=loglevel, schedule=str(settings.home / "celerybeat-schedule")).run()


@cli.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option("--org", "org_name", required=True, help="The organization the key acts for.")
def keys_create(org_name: str) -> None:
    """Create an API key for an organization (made if new); prints the key once."""
    from skyq.db.key_store import KeyStore

    settings = load_settings()
    store = open_run_store(settings)
    org_id = store.ensure_organization(org_name)
    click.echo(KeyStore(store.engine).create(org_id))
    click.echo(f"organization {org_name} ({org_id}); the key is shown only now", err=True)


@keys.command("revoke")
@click.argument("prefix")
def keys_revoke(prefix: str) -> None:
    """Revoke a key by its prefix (the 8 characters after skyq_); it answers 403 at once."""
    from skyq.db.key_store import KeyStore, split_key

    settings = load_settings()
    store = open_run_store(settings)
    prefix = split_key(prefix) or prefix  # a whole key works too
    if not KeyStore(store.engine).revoke(prefix):
        fail(f"no live key with prefix {prefix!r}", EXIT_NOT_COMPLETED)
    click.echo(f"revoked key {prefix}", err=True)


# Commands in their own modules register themselves on `cli`.
import skyq.cli.batch  # noqa: E402
import skyq.cli.demo  # noqa: E402
import skyq.cli.workflows  # noqa: E402, F401


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        fail("aborted", 130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (ConfigurationError, InvalidRequestError) as exc:
        fail(str(exc), EXIT_USAGE)
    except SkyqError as exc:
        fail(str(exc), EXIT_NOT_COMPLETED)
    except KeyboardInterrupt:
        fail("interrupted", 130)
