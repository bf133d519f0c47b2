"""The patient page's rows in PostgreSQL: sign-in sessions, a secure notice's message, the
patient's uploads and the conversation as the page shows it (`portal_messages`). SQL only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import Attachment, MessageReceived
from switchboard.ingest.adapters import storage


async def session_by_token_hash(db: AsyncSession, token_hash: str) -> Any:
    s = storage.sessions
    return (await db.execute(select(s).where(s.c.token_hash == token_hash))).first()


async def add_session(db: AsyncSession, **values: Any) -> None:
    await db.execute(insert(storage.sessions).values(**values))


async def secure_notice(
    db: AsyncSession, practice_id: str, message_id: uuid.UUID
) -> tuple[Any, str | None]:
    """The secure notice sent as `message_id` (its conversation, address, line and when)
    and the patient its conversation is linked to, if any."""
    o = storage.outbound
    row = (
        await db.execute(
            select(o.c.conversation_id, o.c.to_addr, o.c.line, o.c.created_at).where(
                o.c.message_id == message_id,
                o.c.practice_id == practice_id,
                o.c.kind == "secure_notice",
            )
        )
    ).first()
    linked = None
    if row is not None:
        cp = storage.conversation_patients
        linked = (
            await db.execute(
                select(cp.c.patient_id).where(cp.c.conversation_id == row.conversation_id)
            )
        ).scalar()
    return row, linked


async def add_upload(db: AsyncSession, **values: Any) -> None:
    await db.execute(insert(storage.uploads).values(**values))


async def uploads_of(
    db: AsyncSession, practice_id: str, patient_id: str, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    """The patient's own uploads among `ids` (another's are not found)."""
    u = storage.uploads
    rows = await db.execute(
        select(u).where(
            u.c.attachment_id.in_(ids),
            u.c.practice_id == practice_id,
            u.c.patient_id == patient_id,
        )
    )
    return {r.attachment_id: r for r in rows.all()}


async def record_inbound(
    db: AsyncSession, event: MessageReceived, attachments: Sequence[Attachment]
) -> None:
    """The patient's message in the page's conversation (once, whatever the retries)."""
    await db.execute(
        insert(storage.portal_messages)
        .values(
            message_id=event.message_id,
            practice_id=event.practice_id,
            conversation_id=event.conversation_id,
            channel=event.channel,
            direction="in",
            body=event.body,
            subject=None,
            attachments=[a.model_dump(mode="json") for a in attachments],
            at=event.received_at,
        )
        .on_conflict_do_nothing()
    )


async def conversation_messages(
    db: AsyncSession, practice_id: str, conversation_id: uuid.UUID
) -> Sequence[Any]:
    pm = storage.portal_messages
    return (
        await db.execute(
            select(pm)
            .where(pm.c.practice_id == practice_id, pm.c.conversation_id == conversation_id)
            .order_by(pm.c.at, pm.c.message_id)
        )
    ).all()


async def message_in(
    db: AsyncSession, practice_id: str, conversation_id: uuid.UUID, message_id: uuid.UUID
) -> Any:
    pm = storage.portal_messages
    return (
        await db.execute(
            select(pm).where(
                pm.c.message_id == message_id,
                pm.c.practice_id == practice_id,
                pm.c.conversation_id == conversation_id,
            )
        )
    ).first()


async def mark_read(db: AsyncSession, message_id: uuid.UUID, at: datetime) -> None:
    pm = storage.portal_messages
    await db.execute(
        update(pm).where(pm.c.message_id == message_id, pm.c.read_at.is_(None)).values(read_at=at)
    )
