"""CredentialStore: logins kept for runs, the password and TOTP secret sealed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from skyq import ids
from skyq.db.models import Credential
from skyq.db.run_store import RunStore
from skyq.errors import CredentialNotFoundError
from skyq.schemas.credential import CreateCredentialRequest
from skyq.sealing import Sealer


@dataclass(frozen=True)
class Login:
    """A credential opened for one run; it lives in the worker's memory only."""

    username: str
    password: str
    totp_secret: str | None


class CredentialStore:
    def __init__(self, store: RunStore, sealer: Sealer) -> None:
        self.store = store
        self.sealer = sealer

    def create(self, organization_id: str, request: CreateCredentialRequest) -> Credential:
        secret = request.credential
        row = Credential(
            credential_id=ids.credential_id(),
            organization_id=organization_id,
            name=request.name,
            credential_type=request.credential_type,
            username=secret.username,
            password_sealed=self.sealer.seal(secret.password.get_secret_value()),
            totp_sealed=self.sealer.seal(secret.totp.get_secret_value()) if secret.totp else None,
        )
        with self.store.session() as session:
            session.add(row)
            session.commit()
        return row

    def get(self, credential_id: str, organization_id: str) -> Credential:
        with self.store.session() as session:
            row = session.get(Credential, credential_id)
        if row is None or row.organization_id != organization_id:
            raise CredentialNotFoundError(f"no credential {credential_id!r}")
        return row

    def list(self, organization_id: str) -> list[Credential]:
        query = (
            select(Credential)
            .where(Credential.organization_id == organization_id)
            .order_by(col(Credential.created_at))
        )
        with self.store.session() as session:
            return list(session.exec(query).all())

    def delete(self, credential_id: str, organization_id: str) -> None:
        row = self.get(credential_id, organization_id)
        with self.store.session() as session:
            session.delete(session.merge(row))
            session.commit()

    def open(self, credential_id: str, organization_id: str) -> Login:
        row = self.get(credential_id, organization_id)
        return Login(
            username=row.username,
            password=self.sealer.open(row.password_sealed),
            totp_secret=self.sealer.open(row.totp_sealed) if row.totp_sealed else None,
        )
