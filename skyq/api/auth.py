"""x-api-key authentication: every read and write is scoped to the key's organization."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from skyq.api.state import ApiState

INVALID = "Invalid credentials"


def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.skyq
    return state


def organization(
    state: Annotated[ApiState, Depends(api_state)],
    x_api_key: Annotated[str | None, Header()] = None,
) -> str:
    """The caller's organization id; 403 with Skyvern's body for any bad key."""
    org = state.keys.organization_for(x_api_key)
    if org is None:
        raise HTTPException(status_code=403, detail=INVALID)
    return org


State = Annotated[ApiState, Depends(api_state)]
Organization = Annotated[str, Depends(organization)]
