"""Staff sign-in and identity: POST /api/auth/login (local users; an OIDC issuer's tokens
need no sign-in here) and GET /api/me. Failed sign-ins are limited per username
(sign_in_limit.py: 429 with Retry-After)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from switchboard.gateway import storage
from switchboard.gateway.app_state import settings_of
from switchboard.gateway.auth import Principal, issue_token, verify_password
from switchboard.gateway.auth_deps import principal
from switchboard.gateway.sign_in_limit import limiter_of
from switchboard.platform.problems import AUTHED, problems

router = APIRouter(prefix="/api", responses=AUTHED)


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=500)


@router.post("/auth/login", responses=problems(429))
async def login(body: Login, request: Request) -> dict[str, Any]:
    limiter = limiter_of(request)
    key = f"user:{body.username}"
    wait = await limiter.retry_after(key)
    if wait is not None:
        raise HTTPException(
            429, "too many failed sign-ins: try again later", {"Retry-After": str(wait)}
        )
    rt = request.app.state.runtime
    async with rt.sessionmaker() as session:
        row = (
            await session.execute(
                select(storage.users).where(storage.users.c.username == body.username)
            )
        ).first()
    if row is None or not verify_password(row.password_hash, body.password):
        await limiter.failed(key)
        raise HTTPException(401, "unknown username or wrong password")
    await limiter.succeeded(key)
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
