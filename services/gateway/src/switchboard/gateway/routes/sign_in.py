"""Staff sign-in and identity: POST /api/auth/login (local users; an OIDC issuer's tokens
need no sign-in here) and GET /api/me."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from switchboard.gateway import storage
from switchboard.gateway.app_state import settings_of
from switchboard.gateway.auth import Principal, issue_token, verify_password
from switchboard.gateway.auth_deps import principal
from switchboard.platform.problems import AUTHED

router = APIRouter(prefix="/api", responses=AUTHED)


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
    s = settings_of(request)
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
