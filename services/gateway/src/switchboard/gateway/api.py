"""Staff REST API: sign-in and identity (local users, or an OIDC issuer: oidc.py). The inbox
reads are in inbox.py, staff actions in actions.py. Every query is scoped to the caller's
practice (T-1); a conversation of another practice is indistinguishable from one that does
not exist (404)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy import select

from switchboard.gateway import storage
from switchboard.gateway.auth import Principal, issue_token, read_token, verify_password
from switchboard.gateway.oidc import is_oidc_token, read_oidc_token
from switchboard.gateway.settings import GatewaySettings
from switchboard.platform.problems import AUTHED

router = APIRouter(prefix="/api", responses=AUTHED)
bearer = HTTPBearer(auto_error=False)


def _settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


async def principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if creds is None:
        raise HTTPException(401, "sign in first: Authorization: Bearer <token>")
    settings = _settings(request)
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


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=500)


@router.post("/auth/login")
async def login(body: Login, request: Request) -> dict[str, Any]:
    rt = request.app.state.runtime
    async with rt.sessionmaker() as session:
        row = (
            await session.execute(
                select(storage.users).where(storage.users.c.username == body.username)
            )
        ).first()
    if row is None or not verify_password(row.password_hash, body.password):
        raise HTTPException(401, "unknown username or wrong password")
    p = Principal(row.user_id, row.practice_id, row.role, frozenset(row.policies))
    s = _settings(request)
    return {
        "token": issue_token(p, s.jwt_secret, s.token_ttl_s),
        "user": {"user_id": p.user_id, "display_name": row.display_name, "role": p.role},
    }


@router.get("/me")
async def me(p: Annotated[Principal, Depends(principal)]) -> dict[str, Any]:
    return {
        "user_id": p.user_id,
        "practice_id": p.practice_id,
        "role": p.role,
        "policies": sorted(p.policies),
        "inbox": p.has_inbox,
    }
