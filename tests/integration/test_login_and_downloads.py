"""login with a stored credential (password and TOTP secret sealed at rest; the model
types placeholders) and download_files, in process on the fixture sites."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from skyq.api.app import create_app
from skyq.db.key_store import KeyStore
from skyq.schemas.credential import (
    DownloadFilesRequest,
    LoginRequest,
)
from skyq.task_kinds import download_task, login_task
from tests.fake_llm import Call, plan_as_is
from tests.sites.server import TOTP_SECRET

PASSWORD = "Tr0ub4dor&3-never-logged"


def login_model(call: Call) -> dict:
    if call.kind == "plan":
        return plan_as_is(call)
    if call.kind == "verify":
        return {"user_goal_achieved": True, "reasoning": "signed in"}
    text = call.text
    if "you are signed in" in text:
        return {"actions": [{"action_type": "complete", "data": {"signed_in": True}}]}
    if "Verification code" in text:
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
    username = text.split('as "', 1)[1].split('"', 1)[0]  # the prompt names the user
    return {
        "actions": [
            {"action_type": "input_text", "id": call.id_of("label=Username"), "text": username},
            {
                "action_type": "input_text",
                "id": call.id_of("label=Password"),
                "text": "{{password}}",
            },
            {"action_type": "click", "id": call.id_of(">Sign in<")},
        ]
    }


def every_stored_byte(embedded) -> list[tuple[str, bytes]]:
    """The database file and every artifact file, as they sit on the disk."""
    home = Path(embedded.settings.home)
    return [(str(p), p.read_bytes()) for p in home.rglob("*") if p.is_file()]


# A login runs on skyvern-1.0; on skyvern-2.0, whose sub-goals go on from the page the
# plan found, the password and the code are still typed on the run's own site.
@pytest.mark.parametrize("engine", ["skyvern-1.0", "skyvern-2.0"])
def test_a_login_whose_password_is_in_no_stored_byte(embedded, fake_llm, sites, engine):
    credential_id = embedded.credential(PASSWORD, TOTP_SECRET)
    served = len(sites.codes_served)  # the fixture sites serve the whole session
    fake_llm.reset(login_model)
    request = login_task(
        LoginRequest(credential_id=credential_id, url=sites.url("login.html")), "ada"
    )
    response = embedded.run(**{**request.model_dump(), "engine": engine})
    assert response.status == "completed", response.failure_reason
    assert response.output == {"signed_in": True}
    assert [k for k in fake_llm.kinds() if k != "plan"][:3] == ["step", "step", "step"]
    # The model saw placeholders, never the password or the TOTP secret.
    for call in fake_llm.calls:
        assert PASSWORD not in str(call.body) and TOTP_SECRET not in str(call.body)
    assert "{{password}}" in next(c for c in fake_llm.calls if c.kind == "step").text
    for path, data in every_stored_byte(embedded):
        assert PASSWORD.encode() not in data, path
        assert TOTP_SECRET.encode() not in data, path
    assert sites.codes_served[served:] == []  # the code came from the stored secret


def test_credentials_over_the_api_never_show_the_secret(embedded):
    key = KeyStore(embedded.store.engine).create(embedded.org)
    client = TestClient(create_app(embedded.settings))
    headers = {"x-api-key": key}
    made = client.post(
        "/v1/credentials",
        json={
            "name": "shop",
            "credential_type": "password",
            "credential": {"username": "ada", "password": PASSWORD, "totp": TOTP_SECRET},
        },
        headers=headers,
    )
    assert made.status_code == 200, made.text
    assert PASSWORD not in made.text and TOTP_SECRET not in made.text
    body = made.json()
    assert body["credential_id"].startswith("cred_")
    assert body["credential"] == {"username": "ada", "totp_configured": True}
    listed = client.get("/v1/credentials", headers=headers)
    assert PASSWORD not in listed.text and [c["name"] for c in listed.json()] == ["shop"]
    bad = client.post(
        "/v1/credentials",
        json={"name": "x", "credential": {"username": "a", "password": "b", "totp": "not base32!"}},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "totp"
    unknown = client.post(
        "/v1/run/tasks/login",
        json={"credential_id": "cred_nope", "url": "https://a.example"},
        headers=headers,
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"][-1] == "credential_id"
    gone = client.delete(f"/v1/credentials/{body['credential_id']}", headers=headers)
    assert gone.status_code == 204
    assert (
        client.get(f"/v1/credentials/{body['credential_id']}", headers=headers).status_code == 404
    )


def test_download_files_returns_the_files_renamed_with_the_suffix(embedded, fake_llm, sites):
    def model(call: Call) -> dict:
        if call.kind == "verify":
            return {"user_goal_achieved": True, "reasoning": "downloaded"}
        if "step 1: click" in call.text:  # clicked once: the file is on its way
            return {"actions": [{"action_type": "complete"}]}
        return {"actions": [{"action_type": "click", "id": call.id_of("city report")}]}

    fake_llm.reset(model)
    request = download_task(
        DownloadFilesRequest(
            navigation_goal="Get the city report",
            url=sites.url("downloads.html"),
            download_suffix="-2026",
            download_timeout=20,
        )
    )
    response = embedded.run(**request.model_dump())
    assert response.status == "completed", response.failure_reason
    assert [f.filename for f in response.downloaded_files or []] == ["cities-report-2026.csv"]
    assert "Download the file or files this asks for" in fake_llm.calls[0].text
