"""Credentials on the wire (POST/GET /v1/credentials) and the login and download task
requests (POST /v1/run/tasks/login, /v1/run/tasks/download_files)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from skyq.schemas.checks import check_http_url
from skyq.totp_secret import check_secret


class PasswordCredential(BaseModel):
    username: str = Field(min_length=1, max_length=500)
    password: SecretStr = Field(min_length=1, max_length=1000)
    totp: SecretStr | None = Field(
        None, description="The base32 TOTP secret of the account's authenticator, if any."
    )

    @field_validator("totp")
    @classmethod
    def _base32(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        check_secret(value.get_secret_value())
        return value


class CreateCredentialRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    credential_type: Literal["password"] = "password"
    credential: PasswordCredential


class CredentialView(BaseModel):
    """What a credential shows once stored: never the password or the TOTP secret."""

    username: str
    totp_configured: bool


class CredentialResponse(BaseModel):
    credential_id: str
    name: str
    credential_type: str
    credential: CredentialView
    created_at: datetime


class TaskExtras(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str | None = None
    webhook_url: str | None = None
    proxy_location: str | dict[str, Any] | None = None
    totp_identifier: str | None = None
    totp_url: str | None = None
    browser_session_id: str | None = None
    browser_address: str | None = None
    extra_http_headers: dict[str, str] | None = None
    max_screenshot_scrolls: int | None = Field(None, ge=0, le=50)
    max_steps: int | None = Field(None, gt=0, le=1000)
    title: str | None = None

    @field_validator("url", "webhook_url", "totp_url")
    @classmethod
    def _urls_are_http(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)


class LoginRequest(TaskExtras):
    """POST /v1/run/tasks/login: log in with a stored credential."""

    credential_type: str = "skyvern"
    credential_id: str = Field(min_length=1)
    url: str | None = None
    prompt: str | None = None


class DownloadFilesRequest(TaskExtras):
    """POST /v1/run/tasks/download_files: navigate and download files."""

    navigation_goal: str = Field(min_length=1)
    url: str | None = None
    download_suffix: str | None = Field(None, max_length=100)
    download_timeout: float | None = Field(None, gt=0, le=3600)
    max_steps_per_run: int | None = Field(None, gt=0, le=1000)
