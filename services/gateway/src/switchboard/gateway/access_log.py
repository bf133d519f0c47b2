"""The access record (T-3): who read which conversation, its panel or an attachment, when.
Written in the reading request's transaction, so a read is never answered unrecorded.
Every call by an API client is recorded too, before it is served (X-APICLIENT-1)."""

from __future__ import annotations

import uuid

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.gateway import storage
from switchboard.gateway.auth import Principal


async def record_access(
    session: AsyncSession, p: Principal, conversation_id: uuid.UUID, action: str
) -> None:
    """T-3: who read which conversation, when."""
    await session.execute(
        insert(storage.access_log).values(
            practice_id=p.practice_id,
            user_id=p.user_id,
            conversation_id=conversation_id,
            action=action,
        )
    )


async def record_api_call(
    session: AsyncSession,
    p: Principal,
    method: str,
    route: str,
    conversation_id: uuid.UUID | None,
) -> None:
    """X-APICLIENT-1: an API client's call, by route template (never the query: it may hold
    a patient's name) and the conversation it names, if any."""
    await session.execute(
        insert(storage.access_log).values(
            practice_id=p.practice_id,
            user_id=p.user_id,
            conversation_id=conversation_id,
            action=f"api {method} {route}"[:200],
        )
    )
