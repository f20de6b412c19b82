"""AsyncClient: Skyvern's task-run methods over HTTP, against skyq (or Skyvern)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from pydantic import BaseModel

from skyq.client.errors import error_for
from skyq.client.options import RequestOptions
from skyq.schemas import (
    ArtifactResponse,
    BrowserSessionResponse,
    RunStatus,
    TaskRunResponse,
    TimelineEntry,
    WorkflowResponse,
)

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_MAX_RETRIES = 2
# One long-poll request waits at most this long on the server before answering.
LONG_POLL_SECONDS = 20.0


def _schema(value: Any) -> Any:
    if isinstance(value, type) and issubclass(value, BaseModel):
        return value.model_json_schema()
    return value


class AsyncClient:
    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"x-api-key": api_key} if api_key else {}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )
        self._max_retries = max_retries

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # the task-run API -------------------------------------------------------------

    async def run_task(
        self,
        prompt: str,
        *,
        url: str | None = None,
        engine: str = "skyvern-1.0",
        wait_for_completion: bool = False,
        timeout: float = 1800,
        max_steps: int | None = None,
        data_extraction_schema: dict[str, Any] | list[Any] | str | type[BaseModel] | None = None,
        proxy_location: str | dict[str, Any] | None = None,
        browser_session_id: str | None = None,
        publish_workflow: bool | None = None,
        webhook_url: str | None = None,
        error_code_mapping: dict[str, str] | None = None,
        totp_identifier: str | None = None,
        totp_url: str | None = None,
        title: str | None = None,
        model: dict[str, Any] | None = None,
        user_agent: str | None = None,
        extra_http_headers: dict[str, str] | None = None,
        include_action_history_in_verification: bool | None = None,
        max_screenshot_scrolls: int | None = None,
        browser_address: str | None = None,
        run_with: str | None = None,
        request_options: RequestOptions | None = None,
    ) -> TaskRunResponse:
        """Start a task run; with ``wait_for_completion`` return it once it has ended
        (TimeoutError after ``timeout`` seconds)."""
        body = {
            "prompt": prompt,
            "url": url,
            "engine": engine,
            "max_steps": max_steps,
            "data_extraction_schema": _schema(data_extraction_schema),
            "proxy_location": proxy_location,
            "browser_session_id": browser_session_id,
            "publish_workflow": publish_workflow,
            "webhook_url": webhook_url,
            "error_code_mapping": error_code_mapping,
            "totp_identifier": totp_identifier,
            "totp_url": totp_url,
            "title": title,
            "model": model,
            "extra_http_headers": extra_http_headers,
            "include_action_history_in_verification": include_action_history_in_verification,
            "max_screenshot_scrolls": max_screenshot_scrolls,
            "browser_address": browser_address,
            "run_with": run_with,
        }
        headers = {"x-user-agent": user_agent} if user_agent else None
        return await self._start(
            "/v1/run/tasks", body, wait_for_completion, timeout, request_options, headers
        )

    async def get_run(
        self, run_id: str, *, request_options: RequestOptions | None = None
    ) -> TaskRunResponse:
        data = await self._request("GET", f"/v1/runs/{run_id}", options=request_options)
        return TaskRunResponse.model_validate(data)

    async def cancel_run(
        self, run_id: str, *, request_options: RequestOptions | None = None
    ) -> TaskRunResponse:
        data = await self._request("POST", f"/v1/runs/{run_id}/cancel", options=request_options)
        return TaskRunResponse.model_validate(data)

    async def get_run_artifacts(
        self,
        run_id: str,
        *,
        artifact_type: str | list[str] | None = None,
        request_options: RequestOptions | None = None,
    ) -> list[ArtifactResponse]:
        params = {"artifact_type": artifact_type} if artifact_type else None
        data = await self._request(
            "GET", f"/v1/runs/{run_id}/artifacts", params=params, options=request_options
        )
        return [ArtifactResponse.model_validate(item) for item in data]

    async def get_run_timeline(
        self, run_id: str, *, request_options: RequestOptions | None = None
    ) -> list[TimelineEntry]:
        data = await self._request("GET", f"/v1/runs/{run_id}/timeline", options=request_options)
        return [TimelineEntry.model_validate(item) for item in data]

    # logins, downloads and credentials ---------------------------------------------

    async def login(
        self,
        *,
        credential_id: str,
        url: str | None = None,
        credential_type: str = "skyvern",
        prompt: str | None = None,
        browser_session_id: str | None = None,
        totp_identifier: str | None = None,
        totp_url: str | None = None,
        webhook_url: str | None = None,
        proxy_location: str | dict[str, Any] | None = None,
        wait_for_completion: bool = False,
        timeout: float = 1800,
        request_options: RequestOptions | None = None,
    ) -> TaskRunResponse:
        """Log in with a stored credential (``create_credential``); the model types the
        password by placeholder and never sees it."""
        body = {
            "credential_id": credential_id,
            "credential_type": credential_type,
            "url": url,
            "prompt": prompt,
            "browser_session_id": browser_session_id,
            "totp_identifier": totp_identifier,
            "totp_url": totp_url,
            "webhook_url": webhook_url,
            "proxy_location": proxy_location,
        }
        return await self._start(
            "/v1/run/tasks/login", body, wait_for_completion, timeout, request_options
        )

    async def download_files(
        self,
        *,
        navigation_goal: str,
        url: str | None = None,
        download_suffix: str | None = None,
        download_timeout: float | None = None,
        max_steps_per_run: int | None = None,
        browser_session_id: str | None = None,
        webhook_url: str | None = None,
        proxy_location: str | dict[str, Any] | None = None,
        wait_for_completion: bool = False,
        timeout: float = 1800,
        request_options: RequestOptions | None = None,
    ) -> TaskRunResponse:
        """Navigate and download files; they come back in ``downloaded_files``."""
        body = {
            "navigation_goal": navigation_goal,
            "url": url,
            "download_suffix": download_suffix,
            "download_timeout": download_timeout,
            "max_steps_per_run": max_steps_per_run,
            "browser_session_id": browser_session_id,
            "webhook_url": webhook_url,
            "proxy_location": proxy_location,
        }
        return await self._start(
            "/v1/run/tasks/download_files", body, wait_for_completion, timeout, request_options
        )

    async def create_credential(
        self,
        *,
        name: str,
        credential: dict[str, Any],
        credential_type: str = "password",
        request_options: RequestOptions | None = None,
    ) -> dict[str, Any]:
        """Store a login: ``credential`` is {"username", "password", optional "totp"
        (a base32 secret)}. The answer never shows the password or the secret again."""
        data: dict[str, Any] = await self._request(
            "POST",
            "/v1/credentials",
            json={"name": name, "credential_type": credential_type, "credential": credential},
            options=request_options,
        )
        return data

    async def get_credentials(
        self, *, request_options: RequestOptions | None = None
    ) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = await self._request(
            "GET", "/v1/credentials", options=request_options
        )
        return data

    async def delete_credential(
        self, credential_id: str, *, request_options: RequestOptions | None = None
    ) -> None:
        await self._request("DELETE", f"/v1/credentials/{credential_id}", options=request_options)

    async def _start(
        self,
        path: str,
        body: dict[str, Any],
        wait_for_completion: bool,
        timeout: float,
        request_options: RequestOptions | None,
        headers: dict[str, str] | None = None,
    ) -> TaskRunResponse:
        """POST a run (fields left None are not sent) and, if asked, wait for its end."""
        data = await self._request(
            "POST",
            path,
            json={k: v for k, v in body.items() if v is not None},
            headers=headers,
            options=request_options,
        )
        run = TaskRunResponse.model_validate(data)
        if not wait_for_completion:
            return run
        return await self.wait_for_run(run.run_id, timeout=timeout, request_options=request_options)

    # workflows --------------------------------------------------------------------

    async def run_workflow(
        self,
        workflow_id: str,
        parameters: dict[str, Any] | None = None,
        *,
        title: str | None = None,
        proxy_location: str | dict[str, Any] | None = None,
        webhook_url: str | None = None,
        totp_url: str | None = None,
        totp_identifier: str | None = None,
        browser_session_id: str | None = None,
        browser_address: str | None = None,
        max_screenshot_scrolls: int | None = None,
        extra_http_headers: dict[str, str] | None = None,
        run_with: str | None = None,
        ai_fallback: bool | None = None,
        wait_for_completion: bool = False,
        timeout: float = 1800,
        request_options: RequestOptions | None = None,
    ) -> TaskRunResponse:
        """Run a published workflow (``wpid_...``): its code, with no model, unless
        ``run_with="agent"``; where the code fails and ``ai_fallback`` is on (the
        default), the agent takes over."""
        body = {
            "workflow_id": workflow_id,
            "parameters": parameters or {},
            "title": title,
            "proxy_location": proxy_location,
            "webhook_url": webhook_url,
            "totp_url": totp_url,
            "totp_identifier": totp_identifier,
            "browser_session_id": browser_session_id,
            "browser_address": browser_address,
            "max_screenshot_scrolls": max_screenshot_scrolls,
            "extra_http_headers": extra_http_headers,
            "run_with": run_with,
            "ai_fallback": ai_fallback,
        }
        return await self._start(
            "/v1/run/workflows", body, wait_for_completion, timeout, request_options
        )

    async def get_workflow(
        self,
        workflow_id: str,
        *,
        revision: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> WorkflowResponse:
        """The workflow with its code (the latest revision, or ``revision``)."""
        data = await self._request(
            "GET",
            f"/v1/workflows/{workflow_id}",
            params={"revision": revision} if revision else None,
            options=request_options,
        )
        return WorkflowResponse.model_validate(data)

    async def get_workflows(
        self, *, request_options: RequestOptions | None = None
    ) -> list[WorkflowResponse]:
        data = await self._request("GET", "/v1/workflows", options=request_options)
        return [WorkflowResponse.model_validate(item) for item in data]

    async def update_workflow_code(
        self, workflow_id: str, code: str, *, request_options: RequestOptions | None = None
    ) -> WorkflowResponse:
        """Store edited code as the workflow's next revision (checked first: code skyq
        would not run is refused with its line)."""
        data = await self._request(
            "POST",
            f"/v1/workflows/{workflow_id}/revisions",
            json={"code": code},
            options=request_options,
        )
        return WorkflowResponse.model_validate(data)

    # browser sessions -------------------------------------------------------------

    async def create_browser_session(
        self,
        *,
        timeout: int | None = None,
        proxy_location: str | dict[str, Any] | None = None,
        url: str | None = None,
        request_options: RequestOptions | None = None,
    ) -> BrowserSessionResponse:
        """A browser kept open across runs (pass its ``browser_session_id`` to
        ``run_task``); ``timeout`` in minutes (default 60), after which it is closed."""
        body = {"timeout": timeout, "proxy_location": proxy_location, "url": url}
        data = await self._request(
            "POST",
            "/v1/browser_sessions",
            json={k: v for k, v in body.items() if v is not None},
            options=request_options,
        )
        return BrowserSessionResponse.model_validate(data)

    async def get_browser_session(
        self, browser_session_id: str, *, request_options: RequestOptions | None = None
    ) -> BrowserSessionResponse:
        data = await self._request(
            "GET", f"/v1/browser_sessions/{browser_session_id}", options=request_options
        )
        return BrowserSessionResponse.model_validate(data)

    async def get_browser_sessions(
        self, *, request_options: RequestOptions | None = None
    ) -> list[BrowserSessionResponse]:
        """The sessions that are starting or open."""
        data = await self._request("GET", "/v1/browser_sessions", options=request_options)
        return [BrowserSessionResponse.model_validate(item) for item in data]

    async def close_browser_session(
        self, browser_session_id: str, *, request_options: RequestOptions | None = None
    ) -> BrowserSessionResponse:
        data = await self._request(
            "POST",
            f"/v1/browser_sessions/{browser_session_id}/close",
            json={},
            options=request_options,
        )
        return BrowserSessionResponse.model_validate(data)

    async def wait_for_run(
        self,
        run_id: str,
        *,
        timeout: float = 1800,
        request_options: RequestOptions | None = None,
    ) -> TaskRunResponse:
        """Return the run once it has ended. skyq answers a long poll the moment the
        run ends; a server that ignores ``wait_seconds`` is polled with backoff."""
        deadline = time.monotonic() + timeout
        pause = 0.2
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"run {run_id} did not finish within {timeout:g}s")
            wait = min(LONG_POLL_SECONDS, remaining)
            asked = time.monotonic()
            data = await self._request(
                "GET",
                f"/v1/runs/{run_id}",
                params={"wait_seconds": round(wait, 3)},
                options=request_options,
                read_timeout=wait + 30,
            )
            run = TaskRunResponse.model_validate(data)
            if RunStatus(run.status).is_final:
                return run
            if time.monotonic() - asked < wait / 2:  # the server did not hold the poll
                await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                pause = min(pause * 1.5, 2.0)

    # transport --------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        options: RequestOptions | None = None,
        read_timeout: float | None = None,
    ) -> Any:
        """One call, retried on connection errors, 5xx answers and 429 (after its
        Retry-After), never on other 4xx."""
        options = options or {}
        if json is not None and options.get("additional_body_parameters"):
            json = {**json, **options["additional_body_parameters"]}
        params = {**(params or {}), **options.get("additional_query_parameters", {})}
        headers = {**(headers or {}), **options.get("additional_headers", {})}
        timeout: Any = httpx.USE_CLIENT_DEFAULT
        if "timeout_in_seconds" in options or read_timeout is not None:
            timeout = max(options.get("timeout_in_seconds", 0), read_timeout or 0)
        retries = options.get("max_retries", self._max_retries)
        for attempt in range(retries + 1):
            last = attempt == retries
            try:
                response = await self._http.request(
                    method,
                    path,
                    json=json,
                    params=params or None,
                    headers=headers,
                    timeout=timeout,
                )
            except httpx.TransportError:
                if last:
                    raise
                await asyncio.sleep(0.5 * 2**attempt)
                continue
            if response.status_code >= 500 and not last:
                await asyncio.sleep(0.5 * 2**attempt)
                continue
            if response.status_code == 429 and not last:
                # The server says when: a rate limit or a full organization queue.
                await asyncio.sleep(_retry_after(response))
                continue
            if response.status_code >= 400:
                raise error_for(response.status_code, _body(response))
            return response.json() if response.content else None
        raise AssertionError("unreachable")  # the loop always returns or raises


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(60.0, max(0.0, float(response.headers.get("retry-after", "1"))))
    except ValueError:
        return 1.0


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
