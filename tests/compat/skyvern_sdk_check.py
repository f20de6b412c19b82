"""Drives a running skyq with Skyvern's own published SDK (PyPI `skyvern`), unchanged.

Not part of the suite (the `skyvern` package is large): run it by hand from a virtualenv
that has it, against an API and workers started as the README shows:

    python -m venv /tmp/skv && /tmp/skv/bin/pip install skyvern
    /tmp/skv/bin/python tests/compat/skyvern_sdk_check.py http://127.0.0.1:8000 KEY PAGE_URL

PAGE_URL is any page the worker can open; the model must be able to finish
"Get the page title" on it.
"""

from __future__ import annotations

import asyncio
import sys

from skyvern import Skyvern
from skyvern.client import Skyvern as SyncSkyvern


async def check(base_url: str, key: str, page: str) -> None:
    sdk = Skyvern(base_url=base_url, api_key=key)
    run = await sdk.run_task(
        prompt="Get the page title",
        url=page,
        wait_for_completion=True,
        timeout=120,
        user_agent="skyvern-sdk-check/1.0",
    )
    assert run.status == "completed", run
    assert run.run_type == "task_v1" and run.step_count and run.screenshot_urls
    again = await sdk.get_run(run.run_id)
    assert again.status == "completed" and again.run_id == run.run_id
    assert await sdk.get_run_artifacts(run.run_id)
    queued = await sdk.run_task(prompt="Get the page title", url=page, max_steps=3)
    await sdk.cancel_run(queued.run_id)
    try:
        await sdk.get_run("tsk_does_not_exist")
    except Exception as exc:  # the SDK's NotFoundError
        assert getattr(exc, "status_code", None) == 404, exc
    else:
        raise AssertionError("an unknown run must be a 404")
    sync = SyncSkyvern(base_url=base_url, api_key=key)
    assert sync.get_run(run.run_id).status == "completed"
    print("Skyvern's SDK: run_task, get_run, get_run_artifacts, cancel_run, 404, sync: ok")


if __name__ == "__main__":
    asyncio.run(check(*sys.argv[1:4]))
