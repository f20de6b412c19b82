"""execute_run: the one run function. The CLI calls it in process; the Celery task
calls it in a worker. It claims the run (compare-and-set), drives the agent in a fresh
browser context, and writes exactly one terminal status."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from skyq import metrics
from skyq.agent import Agent, AgentResult, AgentTask
from skyq.agent.recorder import CodeSource, StepReport
from skyq.bootstrap import secret_key
from skyq.browser import BrowserOptions, BrowserRoom, PageTimings, PlaywrightPage
from skyq.browser.cdp import websocket_url
from skyq.browser.sessions import BrowserSessions, SessionPage
from skyq.code_runs import CodeRun, find_code, workflow_secrets
from skyq.config import Settings
from skyq.db import RunStore
from skyq.db.credential_store import CredentialStore
from skyq.db.models import Run
from skyq.db.run_store import ClaimState
from skyq.db.session_store import BrowserSessionStore, ensure_open
from skyq.egress import egress_policy
from skyq.egress.proxy import RunRoute
from skyq.engine_runs import EngineParts, engine_for
from skyq.engines import ensure_supported
from skyq.errors import (
    DatabaseUnavailableError,
    InfrastructureError,
    RunBusyError,
    RunNotFoundError,
    SkyqError,
    invalid_request,
)
from skyq.llm import LLM, ModelConfig, resolve_model
from skyq.llm.base import ToolLLM
from skyq.proxies import resolve_proxy
from skyq.publishing import publish
from skyq.responses import task_run_response
from skyq.run_files import RunFiles
from skyq.run_journal import RunJournal, upload_pool
from skyq.run_recorder import StoredRunRecorder
from skyq.schema_registry import SchemaRegistry
from skyq.schemas import ArtifactType, RunStatus, TaskRunRequest, TaskRunResponse
from skyq.sealing import Sealer
from skyq.storage import ArtifactStore
from skyq.totp import RunCodes, SecretCodes

log = logging.getLogger(__name__)


def default_llm(config: ModelConfig) -> LLM:
    return default_tool_llm(config)


def default_tool_llm(config: ModelConfig) -> ToolLLM:
    from skyq.llm.litellm_client import LiteLLMClient

    return LiteLLMClient(config)


def browser_options(settings: Settings) -> BrowserOptions:
    return BrowserOptions(
        executable=settings.chromium_path,
        headless=settings.browser_headless,
        viewport=(settings.viewport_width, settings.viewport_height),
        device_scale_factor=settings.device_scale_factor,
        record_video=settings.record_video,
        video_size=(settings.video_width, settings.video_height),
    )


@dataclass
class RunServices:
    """What a process holds for its lifetime and lends to each run."""

    settings: Settings
    store: RunStore
    artifacts: ArtifactStore
    room: BrowserRoom
    llm_factory: Callable[[ModelConfig], LLM] = field(default=default_llm)
    tool_llm_factory: Callable[[ModelConfig], ToolLLM] = field(default=default_tool_llm)
    uploads: ThreadPoolExecutor = field(default_factory=upload_pool)
    sessions: BrowserSessions = field(init=False)
    sealer: Sealer = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = BrowserSessions(self.room)
        self.sealer = Sealer(secret_key(self.settings))


def record_request(
    services: RunServices, body: dict[str, Any], task_id: str, organization_id: str | None
) -> str:
    """Create the run row for a request that came straight over the queue (a Celery
    signature from another service). Idempotent: the id derives from the task id."""
    registry = SchemaRegistry.from_import_paths(services.settings.extraction_models)
    try:
        request = registry.resolve(TaskRunRequest.model_validate(body))
    except ValidationError as exc:
        raise invalid_request(exc) from None
    run_id = task_id if task_id.startswith("tsk_") else "tsk_" + task_id.replace("-", "")
    store = services.store
    org = organization_id or store.ensure_organization(services.settings.organization_name)
    store.create_run(org, request, run_id=run_id, enqueued=True)
    return run_id


def attempt_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def execute_run(
    run_id: str,
    services: RunServices,
    *,
    on_step: Callable[[StepReport], None] | None = None,
) -> TaskRunResponse:
    """Run one attempt of ``run_id`` and return the run as it stands afterwards.

    Raises RunBusyError when another live attempt holds the run (the caller retries
    later); a duplicate delivery of a finished run just returns it.
    """
    # The loop may be shared by several runs (a threads-pool worker): database calls
    # go to threads so that no run's query holds the others' steps up.
    store, settings = services.store, services.settings
    owner = attempt_owner()
    claim = await asyncio.to_thread(
        store.claim_run,
        run_id,
        owner,
        lease_seconds=settings.lease_seconds,
        max_attempts=settings.max_attempts,
    )
    if claim.state == ClaimState.busy:
        raise RunBusyError(run_id, claim.retry_after)
    if claim.state == ClaimState.missing:
        raise RunNotFoundError(f"no run {run_id!r}")
    if claim.state != ClaimState.claimed:
        log.info("run not started", extra={"run_id": run_id, "claim": claim.state.value})
        return await _response(run_id, services)
    run = await asyncio.to_thread(store.get_run, run_id)
    log.info("run started", extra={"run_id": run_id, "attempt": run.attempt, "owner": owner})
    started = time.monotonic()
    journal = RunJournal(services.uploads, services.artifacts, store)
    recorder = StoredRunRecorder(run, store, journal, on_step)
    drive = asyncio.ensure_future(_drive(run, services, recorder))
    heartbeat = asyncio.create_task(
        _keep_lease(store, run_id, owner, settings.lease_seconds, on_lost=drive.cancel)
    )
    try:
        result = await drive
        await asyncio.to_thread(recorder.flush)
    except asyncio.CancelledError:
        if not (heartbeat.done() and not heartbeat.cancelled()):
            raise  # cancelled from outside (the task's time limit)
        # Another attempt owns the run now: this one stops and writes nothing.
        log.warning("lease lost; attempt stopped", extra={"run_id": run_id, "owner": owner})
        return await _response(run_id, services)
    except InfrastructureError:
        # The database or the broker went away under the attempt: that is no reason to
        # fail the run. The attempt is given up; its lease runs out and the next
        # delivery starts the run over.
        log.warning("attempt given up", extra={"run_id": run_id}, exc_info=True)
        raise
    except SkyqError as exc:
        result = AgentResult(RunStatus.failed, failure_reason=str(exc))
    except Exception as exc:
        # A bug must still end the run: a row left 'running' helps nobody.
        log.exception("run crashed", extra={"run_id": run_id})
        first_line = (str(exc).strip().splitlines() or [""])[0][:300]
        result = AgentResult(
            RunStatus.failed, failure_reason=f"internal error: {type(exc).__name__}: {first_line}"
        )
    finally:
        heartbeat.cancel()
        # What a failed attempt had queued still lands before the run's end is written.
        await asyncio.to_thread(journal.close)
    written = await write_end(store, run_id, owner, result)
    metrics.run_finished(result.status.value, time.monotonic() - started)
    log.info(
        "run finished",
        extra={"run_id": run_id, "status": result.status.value, "written": written},
    )
    return await _response(run_id, services)


async def _response(run_id: str, services: RunServices) -> TaskRunResponse:
    def read() -> TaskRunResponse:
        store = services.store
        return task_run_response(store.get_run(run_id), store, services.artifacts)

    return await asyncio.to_thread(read)


END_WRITE_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


async def write_end(store: RunStore, run_id: str, owner: str, result: AgentResult) -> bool:
    """The terminal write, retried through a database outage of about half a minute
    (the heartbeat keeps renewing the lease meanwhile). After that it gives up: the
    lease expires and the reaper hands the run to another attempt."""
    for delay in (*END_WRITE_DELAYS, None):
        try:
            return await asyncio.to_thread(
                store.finish_run,
                run_id,
                result.status,
                owner=owner,
                output=result.output,
                failure_reason=result.failure_reason,
                errors=result.errors,
            )
        except DatabaseUnavailableError:
            if delay is None:
                raise
            log.warning("terminal write failed; retrying", extra={"run_id": run_id})
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


async def _keep_lease(
    store: RunStore, run_id: str, owner: str, lease_seconds: float, on_lost: Callable[[], Any]
) -> None:
    """Renew the run's lease while the attempt lives; a dead worker stops renewing and
    the next delivery of the run may claim it once the lease has expired. A lease found
    taken (the database was away for longer than the lease, and the run was handed on)
    calls ``on_lost``: two live attempts of one run must never go on together."""
    while True:
        await asyncio.sleep(lease_seconds / 3)
        try:
            renewed = await asyncio.to_thread(store.renew_lease, run_id, owner, lease_seconds)
        except Exception:  # a database blip must not kill the run; the next beat retries
            log.warning("lease renewal failed", extra={"run_id": run_id}, exc_info=True)
            continue
        if not renewed:
            on_lost()
            return


async def _drive(run: Run, services: RunServices, recorder: StoredRunRecorder) -> AgentResult:
    settings = services.settings
    request = TaskRunRequest.model_validate(run.run_request)
    ensure_supported(request)
    secrets = await asyncio.to_thread(workflow_secrets, services.store, run, services.sealer)
    login = None
    if request.credential_id:
        credentials = CredentialStore(services.store, services.sealer)
        login = await asyncio.to_thread(
            credentials.open, request.credential_id, run.organization_id
        )
        secrets = {**secrets, "password": login.password}
    has_codes = bool(request.totp_identifier or request.totp_url or (login and login.totp_secret))
    code = await asyncio.to_thread(
        partial(find_code, has_codes=has_codes), services.store, run, request, services.sealer
    )
    task = AgentTask(
        prompt=request.prompt,
        url=request.url,
        max_steps=run.max_steps,
        schema=request.data_extraction_schema
        if not isinstance(request.data_extraction_schema, str)
        else None,
        error_codes=dict(request.error_code_mapping or {}),
        include_history_in_verification=bool(request.include_action_history_in_verification),
        screenshot_scrolls=request.max_screenshot_scrolls or 0,
        # Known once the model is (a code run may never need one).
        send_screenshots=settings.llm_send_screenshots,
        max_prompt_chars=settings.max_text_chars_in_prompt,
        time_limit_seconds=settings.run_timeout_seconds,
        verification_codes=has_codes,
        secrets=secrets,
        download_suffix=request.download_suffix,
    )
    with tempfile.TemporaryDirectory(prefix="skyq-video-") as video_dir:
        recording = Path(video_dir) / "run.webm"
        async with _browser_page(run, request, services, recording) as (page, session):
            files = RunFiles(
                run,
                services.store,
                services.artifacts,
                max_bytes=settings.max_file_bytes,
                egress=egress_policy(settings),
            )
            codes: CodeSource = RunCodes(
                run,
                services.store,
                wait_seconds=settings.totp_wait_seconds,
                poll_seconds=settings.totp_poll_seconds,
                egress=egress_policy(settings),
            )
            if login is not None and login.totp_secret:
                codes = SecretCodes(login.totp_secret)

            def make_agent(agent_task: AgentTask) -> Agent:
                model = resolve_model(settings, request.model_name)
                agent_task = replace(agent_task, send_screenshots=model.send_screenshots)
                llm = services.llm_factory(model)
                return Agent(
                    agent_task, llm=llm, page=page, recorder=recorder, files=files, codes=codes
                )

            page.record_targets = request.publish_workflow or code is not None
            try:
                if code is not None:
                    result = await CodeRun(
                        code,
                        run=run,
                        request=request,
                        task=task,
                        page=page,
                        recorder=recorder,
                        store=services.store,
                        make_agent=make_agent,
                        fallback=bool(run.run_request.get("ai_fallback", True)),
                        codes=codes,
                        files=files.source,
                    ).execute()
                else:
                    parts = EngineParts(
                        settings=settings,
                        page=page,
                        recorder=recorder,
                        codes=codes,
                        make_agent=make_agent,
                        llm_factory=services.llm_factory,
                        tool_llm_factory=services.tool_llm_factory,
                    )
                    result = await engine_for(request.engine, task, parts, request.model_name).run()
                    if request.publish_workflow and result.status == RunStatus.completed:
                        await _publish(run, request, page, recorder, services, result)
                with contextlib.suppress(SkyqError):
                    shot = await page.screenshot()
                    recorder.save_artifact(
                        recorder.last_step_id, ArtifactType.screenshot_final, shot, "jpg"
                    )
            finally:
                if session is not None:  # the page stays open for the session's next run
                    page.detach()
                    session.element_ids_used(page.next_element_id)
        # The recording is complete once the run's page is given back.
        try:
            await _keep_recording(recording, recorder)
        except Exception:  # a lost recording must not fail a run that did its work
            log.warning("recording lost", extra={"run_id": run.run_id}, exc_info=True)
    return result


async def _publish(
    run: Run,
    request: TaskRunRequest,
    page: PlaywrightPage,
    recorder: StoredRunRecorder,
    services: RunServices,
    result: AgentResult,
) -> None:
    try:
        await publish(run, request, page, recorder, services.store, result.output)
    except SkyqError:  # the run did its work; it is just not published
        log.warning("workflow not published", extra={"run_id": run.run_id}, exc_info=True)


@contextlib.asynccontextmanager
async def _browser_page(
    run: Run, request: TaskRunRequest, services: RunServices, record_to: Path
) -> AsyncIterator[tuple[PlaywrightPage, SessionPage | None]]:
    """The run's page: a fresh context's, its browser session's (whose user agent,
    headers and proxy were set when the session opened), or a new one in the caller's
    own browser at ``browser_address``."""
    settings = services.settings
    session_id = request.browser_session_id
    if request.browser_address:
        endpoint = await websocket_url(
            request.browser_address, request.cdp_connect_headers, egress_policy(settings)
        )
        async with services.room.attached_page(
            endpoint, headers=request.cdp_connect_headers, record_to=record_to
        ) as page:
            yield _driver(page, settings, download_seconds=request.download_timeout), None
        return
    if session_id is None:
        proxy = resolve_proxy(request.proxy_location, settings.proxy_locations)
        policy = egress_policy(settings)
        async with services.room.run_page(
            user_agent=request.user_agent,
            extra_http_headers=request.extra_http_headers,
            proxy=proxy,
            egress=RunRoute(run.run_id, policy, upstream=proxy) if policy else None,
            record_to=record_to,
        ) as page:
            yield _driver(page, settings, download_seconds=request.download_timeout), None
        return
    rows = BrowserSessionStore(services.store)
    ensure_open(await asyncio.to_thread(rows.get, session_id))
    async with services.sessions.page(session_id, record_to) as held:
        await asyncio.to_thread(rows.set_runnable, session_id, run.run_id)
        try:
            driver = _driver(held.page, settings, held.first_element_id, request.download_timeout)
            yield driver, held
        finally:
            with contextlib.suppress(SkyqError):
                await asyncio.to_thread(rows.set_runnable, session_id, None)


def _driver(
    page: Any,
    settings: Settings,
    first_element_id: int = 1,
    download_seconds: float | None = None,
) -> PlaywrightPage:
    timings = PageTimings(
        navigation_seconds=settings.navigation_timeout_seconds,
        action_seconds=settings.action_timeout_seconds,
        download_seconds=download_seconds or settings.download_timeout_seconds,
    )
    return PlaywrightPage(
        page,
        timings,
        max_nodes=settings.max_elements_in_prompt,
        max_text=settings.max_text_chars_in_prompt,
        max_download_bytes=settings.max_file_bytes,
        first_element_id=first_element_id,
    )


async def _keep_recording(path: Path, recorder: StoredRunRecorder) -> None:
    if path.exists() and path.stat().st_size > 0:
        data = await asyncio.to_thread(path.read_bytes)
        recorder.save_artifact(recorder.last_step_id, ArtifactType.recording, data, "webm")
