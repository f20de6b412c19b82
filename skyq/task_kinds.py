"""The task runs behind Skyvern's special task routes: a login with a stored
credential, and a download. Each is an ordinary task run with its prompt written here."""

from __future__ import annotations

import json

from skyq.schemas import RunEngine, TaskRunRequest
from skyq.schemas.credential import DownloadFilesRequest, LoginRequest, TaskExtras

LOGIN_PROMPT = (
    "Log in to this website as {username}, typing the password as {{{{password}}}}; if "
    "the site asks for a one-time or 2FA code, type {{{{verification_code}}}}. The task "
    "is complete once you are logged in; if the login is refused, terminate."
)
DOWNLOAD_NOTE = (
    "Download the file or files this asks for. The task is complete once they have been downloaded."
)


def _common(body: TaskExtras) -> dict[str, object]:
    return body.model_dump(
        include={
            "url",
            "webhook_url",
            "proxy_location",
            "totp_identifier",
            "totp_url",
            "browser_session_id",
            "browser_address",
            "extra_http_headers",
            "max_screenshot_scrolls",
            "max_steps",
            "title",
        }
    )


# A login and a download are one goal each: the step loop alone, with no plan call.
ONE_GOAL = RunEngine.skyvern_v1


def login_task(body: LoginRequest, username: str) -> TaskRunRequest:
    """The login run: the username is no secret, the password only a placeholder."""
    login = LOGIN_PROMPT.format(username=json.dumps(username))
    prompt = login if not body.prompt else f"{body.prompt}\n\n{login}"
    return TaskRunRequest(
        prompt=prompt,
        credential_id=body.credential_id,
        engine=ONE_GOAL,
        **_common(body),
    )


def download_task(body: DownloadFilesRequest) -> TaskRunRequest:
    common = _common(body)
    if body.max_steps_per_run and not common.get("max_steps"):
        common["max_steps"] = body.max_steps_per_run
    return TaskRunRequest(
        prompt=f"{body.navigation_goal}\n\n{DOWNLOAD_NOTE}",
        download_timeout=body.download_timeout,
        download_suffix=body.download_suffix,
        engine=ONE_GOAL,
        **common,
    )
