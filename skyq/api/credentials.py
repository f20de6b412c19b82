"""/v1/credentials: logins stored for runs (the password and TOTP secret sealed at rest,
never shown again), and POST /v1/credentials/totp: a one-time code (or the message that
carries it) pushed for a totp_identifier, waited for by the runs that name it."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from skyq.api.auth import Organization, State
from skyq.db.credential_store import CredentialStore
from skyq.db.models import Credential
from skyq.db.run_store import as_utc
from skyq.errors import InvalidRequestError
from skyq.schemas.credential import (
    CreateCredentialRequest,
    CredentialResponse,
    CredentialView,
)
from skyq.totp import TotpStore, extract_code

router = APIRouter(prefix="/v1")


class TotpCodeCreate(BaseModel):
    totp_identifier: str = Field(min_length=1, max_length=300)
    content: str = Field(min_length=1, max_length=20_000)
    task_id: str | None = None
    workflow_run_id: str | None = None
    workflow_id: str | None = None
    source: str | None = Field(None, max_length=100)
    expired_at: datetime | None = None


class TotpCodeResponse(BaseModel):
    """The stored code's record; the code itself is not echoed back."""

    totp_code_id: str
    totp_identifier: str
    task_id: str | None = None
    source: str | None = None
    expired_at: datetime | None = None
    created_at: datetime


@router.post("/credentials/totp", response_model=TotpCodeResponse)
def push_totp_code(body: TotpCodeCreate, state: State, org: Organization) -> TotpCodeResponse:
    code = extract_code(body.content)
    if code is None:
        raise InvalidRequestError("content", "no verification code (4 to 8 digits) found in it")
    row = TotpStore(state.store).push(
        org,
        body.totp_identifier,
        code,
        task_id=body.task_id,
        source=body.source,
        expired_at=body.expired_at,
    )
    return TotpCodeResponse(
        totp_code_id=row.totp_code_id,
        totp_identifier=row.totp_identifier,
        task_id=row.task_id,
        source=row.source,
        expired_at=as_utc(row.expired_at),
        created_at=as_utc(row.created_at) or row.created_at,
    )


@router.post("/credentials", response_model=CredentialResponse)
def create_credential(
    body: CreateCredentialRequest, state: State, org: Organization
) -> CredentialResponse:
    return credential_response(CredentialStore(state.store, state.sealer).create(org, body))


@router.get("/credentials", response_model=list[CredentialResponse])
def list_credentials(state: State, org: Organization) -> list[CredentialResponse]:
    return [credential_response(c) for c in CredentialStore(state.store, state.sealer).list(org)]


@router.get("/credentials/{credential_id}", response_model=CredentialResponse)
def get_credential(credential_id: str, state: State, org: Organization) -> CredentialResponse:
    return credential_response(CredentialStore(state.store, state.sealer).get(credential_id, org))


@router.delete("/credentials/{credential_id}", status_code=204)
def delete_credential(credential_id: str, state: State, org: Organization) -> None:
    CredentialStore(state.store, state.sealer).delete(credential_id, org)


def credential_response(row: Credential) -> CredentialResponse:
    return CredentialResponse(
        credential_id=row.credential_id,
        name=row.name,
        credential_type=row.credential_type,
        credential=CredentialView(username=row.username, totp_configured=bool(row.totp_sealed)),
        created_at=as_utc(row.created_at) or row.created_at,
    )
