"""Who is calling the staff REST API: the FastAPI dependencies every route module uses
(`principal`, `admin_only`, `inbox_user`), from a local token or an OIDC issuer's (oidc.py).
No routes here (they are in routes/, which do not import each other; an import rule checks it).
Every query is scoped to the caller's practice (T-1); a conversation of another practice is
indistinguishable from one that does not exist (404)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from switchboard.gateway.app_state import settings_of
from switchboard.gateway.auth import Principal, read_token
from switchboard.gateway.oidc import is_oidc_token, read_oidc_token

bearer = HTTPBearer(auto_error=False)


async def principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if creds is None:
        raise HTTPException(401, "sign in first: Authorization: Bearer <token>")
    settings = settings_of(request)
    if is_oidc_token(creds.credentials, settings):
        p = await read_oidc_token(creds.credentials, settings)
    else:
        p = read_token(creds.credentials, settings.jwt_verification_keys())
    if p is None:
        raise HTTPException(401, "token invalid or expired")
    return p


def admin_only(refusal: str) -> Callable[[Principal], Principal]:
    """A dependency: the caller is a practice admin, else 403 with `refusal` as the reason."""

    def check(p: Annotated[Principal, Depends(principal)]) -> Principal:
        if not p.is_admin:
            raise HTTPException(403, refusal)
        return p

    return check


def inbox_user(p: Annotated[Principal, Depends(principal)]) -> Principal:
    if not p.has_inbox:
        raise HTTPException(403, "your role has no Inbox access")
    return p
