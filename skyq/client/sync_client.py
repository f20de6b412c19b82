"""Client: the same methods as AsyncClient, blocking. It drives an AsyncClient on a
private event-loop thread, so both share one implementation."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import httpx

from skyq.client.async_client import DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, AsyncClient
from skyq.loop_thread import LoopThread

P = ParamSpec("P")
R = TypeVar("R")


def _blocking(
    method: Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[Client, P], R]:
    def call(self: Client, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._loop.run(method(self._async, *args, **kwargs))

    # wraps() keeps the async method's signature and docstring for help() and IDEs.
    return cast(Callable[Concatenate["Client", P], R], functools.wraps(method)(call))


class Client:
    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._loop = LoopThread("skyq-client")
        self._async = AsyncClient(
            base_url, api_key, timeout=timeout, max_retries=max_retries, transport=transport
        )

    run_task = _blocking(AsyncClient.run_task)
    get_run = _blocking(AsyncClient.get_run)
    cancel_run = _blocking(AsyncClient.cancel_run)
    get_run_artifacts = _blocking(AsyncClient.get_run_artifacts)
    get_run_timeline = _blocking(AsyncClient.get_run_timeline)
    wait_for_run = _blocking(AsyncClient.wait_for_run)
    login = _blocking(AsyncClient.login)
    download_files = _blocking(AsyncClient.download_files)
    create_credential = _blocking(AsyncClient.create_credential)
    get_credentials = _blocking(AsyncClient.get_credentials)
    delete_credential = _blocking(AsyncClient.delete_credential)
    run_workflow = _blocking(AsyncClient.run_workflow)
    get_workflow = _blocking(AsyncClient.get_workflow)
    get_workflows = _blocking(AsyncClient.get_workflows)
    update_workflow_code = _blocking(AsyncClient.update_workflow_code)
    create_browser_session = _blocking(AsyncClient.create_browser_session)
    get_browser_session = _blocking(AsyncClient.get_browser_session)
    get_browser_sessions = _blocking(AsyncClient.get_browser_sessions)
    close_browser_session = _blocking(AsyncClient.close_browser_session)

    def close(self) -> None:
        self._loop.run(self._async.aclose())
        self._loop.stop()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
