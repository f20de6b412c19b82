"""x-api-key authentication: every read and write is scoped to the key's organization."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from skyq.api.state import ApiState
from skyq.db.models import ApiKey

INVALID = "Invalid credentials"


def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.skyq
    return state


def caller(
    state: Annotated[ApiState, Depends(api_state)],
    x_api_key: Annotated[str | None, Header()] = None,
) -> ApiKey:
    """The caller's key; 403 with Skyvern's body for any bad key."""
    key = state.keys.find(x_api_key)
    if key is None:
        raise HTTPException(status_code=403, detail=INVALID)
    state.limits.check_rate(key.api_key_id)
    return key


def organization(key: Annotated[ApiKey, Depends(caller)]) -> str:
    return key.organization_id


State = Annotated[ApiState, Depends(api_state)]
Caller = Annotated[ApiKey, Depends(caller)]
Organization = Annotated[str, Depends(organization)]
