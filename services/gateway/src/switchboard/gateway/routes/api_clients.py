"""API clients, for practice admins (issue 16, ADR 0024): programs with the Inbox API policy
that sign in with the client credentials grant (POST /api/oauth/token).

    GET    /api/admin/api-clients                          the practice's clients
    POST   /api/admin/api-clients            {"name"}      a new client and its secret
    POST   /api/admin/api-clients/{id}/rotate-secret       a new secret (the old one ends)
    DELETE /api/admin/api-clients/{id}                     revoke (its tokens end at once)

A secret is in the answer that made it only; the gateway keeps an argon2 hash. A client of
another practice is a 404, as one that does not exist (T-1).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field, field_validator

from switchboard.gateway import api_client_store
from switchboard.gateway.api_client_store import ApiClientOut, active_clients_of
from switchboard.gateway.api_clients import NAME_MAX, clean_name
from switchboard.gateway.app_state import session_of, settings_of
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import admin_only
from switchboard.platform.problems import AUTHED, problems

router = APIRouter(
    prefix="/api/admin/api-clients", tags=["API clients"], responses=AUTHED | problems(404)
)
Admin = Annotated[Principal, Depends(admin_only("only a practice admin may manage API clients"))]
NOT_FOUND = "no such API client"


class ApiClientIn(BaseModel):
    name: str = Field(min_length=1, max_length=NAME_MAX)

    @field_validator("name")
    @classmethod
    def _one_line(cls, v: str) -> str:
        name = clean_name(v)
        if not name:
            raise ValueError("a name is needed")
        return name


class ApiClientsOut(BaseModel):
    clients: list[ApiClientOut]
    token_url: str = Field(description="where a client exchanges its id and secret")
    token_ttl_s: int


class ApiClientSecret(BaseModel):
    """A client with its secret: shown in this answer only."""

    client: ApiClientOut
    client_secret: str
    token_url: str


TOKEN_URL = "/api/oauth/token"  # noqa: S105 (a path)


@router.get("")
async def list_clients(request: Request, p: Admin) -> ApiClientsOut:
    async with session_of(request) as db:
        found = await api_client_store.list_clients(db, p.practice_id)
    return ApiClientsOut(
        clients=found, token_url=TOKEN_URL, token_ttl_s=settings_of(request).api_token_ttl_s
    )


@router.post("", status_code=201)
async def create_client(body: ApiClientIn, request: Request, p: Admin) -> ApiClientSecret:
    async with session_of(request) as db, db.begin():
        client, secret = await api_client_store.create(db, p.practice_id, body.name, p.user_id)
    return ApiClientSecret(client=client, client_secret=secret, token_url=TOKEN_URL)


@router.post("/{client_id}/rotate-secret")
async def rotate_secret(client_id: str, request: Request, p: Admin) -> ApiClientSecret:
    async with session_of(request) as db, db.begin():
        done = await api_client_store.rotate(db, p.practice_id, client_id)
    if done is None:
        raise HTTPException(404, NOT_FOUND + " (or it is revoked)")
    active_clients_of(request).forget(client_id)
    client, secret = done
    return ApiClientSecret(client=client, client_secret=secret, token_url=TOKEN_URL)


@router.delete("/{client_id}")
async def revoke_client(client_id: str, request: Request, p: Admin) -> ApiClientOut:
    async with session_of(request) as db, db.begin():
        done = await api_client_store.revoke(db, p.practice_id, client_id, p.user_id)
    if done is None:
        raise HTTPException(404, NOT_FOUND)
    active_clients_of(request).forget(client_id)
    return done
