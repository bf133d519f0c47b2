"""Apply events to the inbox read models. Every statement is an idempotent upsert, and
MessageReceived / MessageRouted may arrive in either order (they travel on two topics)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import Event, MessageReceived, MessageRouted
from switchboard.inbox_projection.storage import conversations, messages


async def apply_received(session: AsyncSession, e: MessageReceived) -> None:
    inserted = await session.execute(
        insert(messages)
        .values(
            message_id=e.message_id,
            practice_id=e.practice_id,
            conversation_id=e.conversation_id,
            direction="inbound",
            channel=e.channel,
            sender=e.sender,
            recipient=e.recipient,
            subject=e.subject,
            body=e.body,
            attachments=[a.model_dump(mode="json") for a in e.attachments],
            sent_at=e.received_at,
        )
        .on_conflict_do_nothing()
        .returning(messages.c.message_id)
    )
    if inserted.first() is None:
        return  # this message is already in the read model
    c = conversations.c
    stmt = insert(conversations).values(
        conversation_id=e.conversation_id,
        practice_id=e.practice_id,
        channel=e.channel,
        line=e.recipient,
        sender=e.sender,
        patient_id=e.patient_id,
        status="open",
        inboxes=[],
        recipients=[],
        message_count=1,
        last_message_at=e.received_at,
        version=1,
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[c.conversation_id],
            set_={
                # Any inbound message opens the conversation (I-STATUS-1).
                "status": "open",
                # Stable per conversation; set here in case the decision arrived first.
                "channel": e.channel,
                "line": e.recipient,
                "sender": e.sender,
                "message_count": c.message_count + 1,
                "last_message_at": func.greatest(c.last_message_at, e.received_at),
                "patient_id": func.coalesce(c.patient_id, e.patient_id),
                "version": c.version + 1,
            },
        )
    )


async def apply_routed(session: AsyncSession, e: MessageRouted, channel: str = "unknown") -> None:
    c = conversations.c
    routed = {
        "reason": e.reason,
        "location_id": e.location_id,
        "provider_id": e.provider_id,
        "inboxes": list(e.inboxes),
        "recipients": list(e.recipients),
        "explanation": [r.model_dump(mode="json") for r in e.explanation],
        "routed_at": e.decided_at,
    }
    stmt = insert(conversations).values(
        conversation_id=e.conversation_id,
        practice_id=e.practice_id,
        channel=channel,
        line="",
        sender="",
        patient_id=e.patient_id,
        status="open",
        message_count=0,
        version=1,
        assignee=e.assignee,
        **routed,
    )
    # An older decision (a re-route processed late) never overwrites a newer one.
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[c.conversation_id],
            set_={
                **routed,
                "assignee": func.coalesce(c.assignee, e.assignee),
                "version": c.version + 1,
            },
            where=(c.routed_at.is_(None)) | (c.routed_at <= e.decided_at),
        )
    )


async def handle_batch(session: AsyncSession, events: Sequence[Event]) -> list[Event]:
    for event in events:
        if isinstance(event, MessageReceived):
            await apply_received(session, event)
        elif isinstance(event, MessageRouted):
            await apply_routed(session, event)
    return []
