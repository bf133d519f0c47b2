"""The access record (T-3): who read which conversation, its panel or an attachment, when.
Written in the reading request's transaction, so a read is never answered unrecorded."""

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
