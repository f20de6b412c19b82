"""2FA logins: the code comes from the caller's totp_url, or is pushed to
POST /v1/credentials/totp; the fixture verifies it with pyotp; the code never reaches
the model, the stored requests or the listings."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from skyq.api.app import create_app
from skyq.db.key_store import KeyStore
from skyq.db.models import Action
from tests.fake_llm import Script
from tests.integration.test_agent_actions import complete


def sign_in(call):
    return {
        "actions": [
            {"action_type": "input_text", "id": call.id_of("label=Username"), "text": "ada"},
            {"action_type": "input_text", "id": call.id_of("label=Password"), "text": "hunter22"},
            {"action_type": "click", "id": call.id_of(">Sign in<")},
        ]
    }


def enter_code(call):
    return {
        "actions": [
            {
                "action_type": "input_text",
                "id": call.id_of('label="Verification code"'),
                "text": "{{verification_code}}",
            },
            {"action_type": "click", "id": call.id_of(">Verify<")},
        ]
    }


def assert_code_never_stored(embedded, fake_llm, run_id: str, codes: list[str]) -> None:
    assert codes
    for call in fake_llm.calls:
        for code in codes:
            assert code not in json.dumps(call.body["messages"][1]["content"])[:100_000]
    for artifact in embedded.store.artifacts(run_id):
        if artifact.artifact_type in ("llm_request", "llm_response", "visible_elements_tree"):
            data = embedded.artifacts.get(artifact.uri).decode()
            assert not any(code in data for code in codes), artifact.artifact_type
    actions: list[Action] = embedded.store.actions(run_id)
    typed = [a.payload.get("text") for a in actions if a.action_type == "input_text"]
    assert "{{verification_code}}" in typed
    assert not any(code in json.dumps(a.payload) for a in actions for code in codes)


def test_code_from_totp_url(embedded, fake_llm, sites):
    key = KeyStore(embedded.store.engine).create(embedded.org)
    fake_llm.script = Script([sign_in, enter_code, complete({"signed_in": True})])
    sites.codes_served.clear()
    sites.totp_requests.clear()
    response = embedded.run(
        prompt="Sign in as ada", url=sites.url("login.html"), totp_url=sites.url("totp-endpoint")
    )
    assert response.status == "completed", response.failure_reason
    assert "Welcome back, you are signed in." in fake_llm.calls[2].text
    assert 'use input_text with text "{{verification_code}}"' in fake_llm.calls[0].text
    (asked,) = sites.totp_requests
    assert json.loads(asked.body)["task_id"] == response.run_id
    # Signed as webhooks are: HMAC-SHA256 keyed with the organization's API key.
    import hashlib
    import hmac

    expected = hmac.new(key.encode(), asked.body, hashlib.sha256).hexdigest()
    assert asked.headers["x-skyvern-signature"] == expected
    assert_code_never_stored(embedded, fake_llm, response.run_id, sites.codes_served)


def test_code_pushed_to_the_api_as_a_whole_message(embedded, fake_llm, sites):
    embedded.services.settings = embedded.settings.model_copy(update={"totp_poll_seconds": 0.2})
    key = KeyStore(embedded.store.engine).create(embedded.org)
    api = TestClient(create_app(embedded.settings))
    pushed: list[str] = []

    def push_then_enter(call):
        code = sites.totp.now()
        pushed.append(code)
        answer = api.post(
            "/v1/credentials/totp",
            json={
                "totp_identifier": "ada@example.com",
                "content": f"Your Acme verification code is {code}. It expires in 10 minutes.",
                "source": "email",
            },
            headers={"x-api-key": key},
        )
        assert answer.status_code == 200, answer.text
        assert code not in answer.text
        return enter_code(call)

    fake_llm.script = Script([sign_in, push_then_enter, complete()])
    response = embedded.run(
        prompt="Sign in as ada", url=sites.url("login.html"), totp_identifier="ada@example.com"
    )
    assert response.status == "completed", response.failure_reason
    assert "Welcome back, you are signed in." in fake_llm.calls[2].text
    assert_code_never_stored(embedded, fake_llm, response.run_id, pushed)


def test_no_code_arriving_is_reported_to_the_model(embedded, fake_llm, sites):
    embedded.services.settings = embedded.settings.model_copy(
        update={"totp_wait_seconds": 0.5, "totp_poll_seconds": 0.1}
    )
    fake_llm.script = Script([sign_in, enter_code, complete()])
    response = embedded.run(
        prompt="Sign in", url=sites.url("login.html"), totp_identifier="nobody@example.com"
    )
    assert "FAILED: no verification code arrived within 0.5s" in fake_llm.calls[2].text
    assert response.status == "completed"


def test_a_message_without_a_code_is_a_422(embedded):
    key = KeyStore(embedded.store.engine).create(embedded.org)
    api = TestClient(create_app(embedded.settings))
    answer = api.post(
        "/v1/credentials/totp",
        json={"totp_identifier": "x", "content": "no digits here"},
        headers={"x-api-key": key},
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "content"]


def test_a_page_cannot_talk_the_model_into_typing_the_code_elsewhere(embedded, fake_llm, sites):
    """An obedient model follows a page's instruction to enter the code on another
    site (here `localhost`, the same server under another name): skyq refuses, and
    no code is even fetched."""
    elsewhere = sites.url("2fa.html").replace("127.0.0.1", "localhost")
    fake_llm.script = Script(
        [
            {"actions": [{"action_type": "goto", "url": elsewhere}]},
            enter_code,
            complete(),
        ]
    )
    sites.codes_served.clear()
    response = embedded.run(
        prompt="Sign in", url=sites.url("login.html"), totp_url=sites.url("totp-endpoint")
    )
    assert "FAILED: the verification code is only typed on 127.0.0.1, not on localhost" in (
        fake_llm.calls[2].text
    )
    assert sites.codes_served == []
    assert response.status == "completed"
