"""The SDK against httpx's mock transport: retries, options, waiting, errors."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import BaseModel

import skyq

RUN = {
    "run_id": "tsk_1",
    "run_type": "task_v1",
    "status": "queued",
    "created_at": "2026-01-01T00:00:00Z",
    "modified_at": "2026-01-01T00:00:00Z",
}


class Recorder:
    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(recorder: Recorder, **kwargs) -> skyq.Client:
    return skyq.Client(
        "http://skyq.test", api_key="k", transport=httpx.MockTransport(recorder), **kwargs
    )


def test_run_task_sends_the_wire_body_and_headers():
    class Product(BaseModel):
        name: str
        price: float

    recorder = Recorder(httpx.Response(200, json=RUN))
    with client(recorder) as sdk:
        run = sdk.run_task(
            "Find it",
            url="https://shop.test",
            data_extraction_schema=Product,
            user_agent="bot/1",
            max_steps=5,
            request_options={
                "additional_headers": {"x-trace": "1"},
                "additional_query_parameters": {"q": "v"},
                "additional_body_parameters": {"extra": True},
            },
        )
    assert run.run_id == "tsk_1" and run.status == "queued"
    request = recorder.requests[0]
    body = json.loads(request.content)
    assert body["prompt"] == "Find it" and body["max_steps"] == 5 and body["extra"] is True
    assert body["data_extraction_schema"]["properties"]["price"]["type"] == "number"
    assert "webhook_url" not in body  # unset parameters are not sent
    assert request.headers["x-api-key"] == "k"
    assert request.headers["x-user-agent"] == "bot/1"
    assert request.headers["x-trace"] == "1"
    assert request.url.params["q"] == "v"


def test_5xx_and_connection_errors_are_retried_4xx_never():
    recorder = Recorder(
        httpx.ConnectError("refused"),
        httpx.Response(503, json={"detail": "down"}),
        httpx.Response(200, json=RUN),
    )
    with client(recorder) as sdk:
        assert sdk.get_run("tsk_1").run_id == "tsk_1"
    assert len(recorder.requests) == 3

    recorder = Recorder(httpx.Response(422, json={"detail": [{"loc": ["body", "url"]}]}))
    with client(recorder) as sdk, pytest.raises(skyq.UnprocessableEntityError) as caught:
        sdk.get_run("tsk_1")
    assert len(recorder.requests) == 1
    assert caught.value.status_code == 422 and caught.value.body["detail"][0]["loc"][1] == "url"


def test_max_retries_per_call():
    recorder = Recorder(httpx.Response(500, json={}), httpx.Response(500, json={"detail": "x"}))
    with client(recorder) as sdk, pytest.raises(skyq.ApiError) as caught:
        sdk.get_run("tsk_1", request_options={"max_retries": 1})
    assert caught.value.status_code == 500 and len(recorder.requests) == 2


def test_errors_by_status():
    for status, kind in [(403, skyq.ForbiddenError), (404, skyq.NotFoundError)]:
        recorder = Recorder(httpx.Response(status, json={"detail": "no"}))
        with client(recorder) as sdk, pytest.raises(kind):
            sdk.cancel_run("tsk_1")


def test_wait_uses_the_long_poll_and_returns_when_the_run_ends():
    done = {**RUN, "status": "completed", "output": {"a": 1}}
    recorder = Recorder(
        httpx.Response(200, json=RUN),
        httpx.Response(200, json={**RUN, "status": "running"}),
        httpx.Response(200, json=done),
    )
    with client(recorder) as sdk:
        run = sdk.run_task("x", wait_for_completion=True, timeout=30)
    assert run.status == "completed" and run.output == {"a": 1}
    waits = [float(r.url.params["wait_seconds"]) for r in recorder.requests[1:]]
    assert all(0 < w <= 20 for w in waits)


def test_wait_gives_up_with_timeout_error():
    recorder = Recorder(*[httpx.Response(200, json={**RUN, "status": "running"})] * 50)
    with client(recorder) as sdk, pytest.raises(TimeoutError, match=r"did not finish within 0\.5s"):
        sdk.wait_for_run("tsk_1", timeout=0.5)


def test_429_is_retried_after_retry_after():
    recorder = Recorder(
        httpx.Response(429, json={"detail": "slow down"}, headers={"retry-after": "0"}),
        httpx.Response(200, json=RUN),
    )
    with client(recorder) as sdk:
        assert sdk.get_run("tsk_1").run_id == "tsk_1"
    assert len(recorder.requests) == 2
    recorder = Recorder(*[httpx.Response(429, json={}, headers={"retry-after": "0"})] * 3)
    with client(recorder) as sdk, pytest.raises(skyq.client.TooManyRequestsError):
        sdk.get_run("tsk_1")
