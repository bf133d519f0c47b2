"""Staff REST API. Every query is scoped to the caller's practice (T-1); a conversation of
another practice is indistinguishable from one that does not exist (404)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy import and_, insert, select

from switchboard.gateway import storage
from switchboard.gateway.auth import Principal, issue_token, read_token, verify_password
from switchboard.gateway.settings import GatewaySettings

router = APIRouter(prefix="/api")
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
    p = read_token(creds.credentials, _settings(request).jwt_secret)
    if p is None:
        raise HTTPException(401, "token invalid or expired")
    return p


def inbox_user(p: Annotated[Principal, Depends(principal)]) -> Principal:
    if not p.has_inbox:
        raise HTTPException(403, "your role has no Inbox access")
    return p


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=500)


class ConversationSummary(BaseModel):
    conversation_id: uuid.UUID
    channel: str
    line: str
    sender: str
    patient_id: str | None
    status: str
    assignee: str | None
    reason: str | None
    location_id: str | None
    inboxes: list[str]
    message_count: int
    last_message_at: datetime | None


class InboxPage(BaseModel):
    inbox: str
    items: list[ConversationSummary]
    next_before: datetime | None


class Message(BaseModel):
    message_id: uuid.UUID
    direction: str
    channel: str
    sender: str
    recipient: str
    subject: str | None
    body: str
    attachments: list[dict[str, Any]]
    sent_at: datetime


class ConversationDetail(ConversationSummary):
    explanation: list[dict[str, Any]] | None
    messages: list[Message]
    version: int


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


@router.get("/inboxes/unassigned")
async def unassigned_inbox(
    request: Request,
    p: Annotated[Principal, Depends(inbox_user)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: datetime | None = None,
    status: Literal["open", "closed"] | None = None,
) -> InboxPage:
    c = storage.conversations.c
    q = select(storage.conversations).where(
        c.practice_id == p.practice_id, c.inboxes.contains(["unassigned"])
    )
    if status:
        q = q.where(c.status == status)
    if before:
        q = q.where(c.last_message_at < before)
    q = q.order_by(c.last_message_at.desc().nulls_last(), c.conversation_id).limit(limit)
    async with request.app.state.runtime.sessionmaker() as session:
        rows = (await session.execute(q)).mappings().all()
    items = [ConversationSummary.model_validate(dict(r)) for r in rows]
    return InboxPage(
        inbox="unassigned",
        items=items,
        next_before=items[-1].last_message_at if len(items) == limit else None,
    )


@router.get("/conversations/{conversation_id}")
async def read_conversation(
    conversation_id: uuid.UUID, request: Request, p: Annotated[Principal, Depends(inbox_user)]
) -> ConversationDetail:
    c = storage.conversations.c
    m = storage.messages.c
    async with request.app.state.runtime.sessionmaker() as session, session.begin():
        row = (
            (
                await session.execute(
                    select(storage.conversations).where(
                        and_(c.conversation_id == conversation_id, c.practice_id == p.practice_id)
                    )
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise HTTPException(404, "no such conversation")
        msgs = (
            (
                await session.execute(
                    select(storage.messages)
                    .where(m.conversation_id == conversation_id)
                    .where(m.practice_id == p.practice_id)
                    .order_by(m.sent_at)
                )
            )
            .mappings()
            .all()
        )
        await session.execute(
            insert(storage.access_log).values(
                practice_id=p.practice_id,
                user_id=p.user_id,
                conversation_id=conversation_id,
                action="read",
            )
        )
    return ConversationDetail.model_validate(
        {**dict(row), "messages": [Message.model_validate(dict(x)) for x in msgs]}
    )
