"""The FHIR Communication writer's state (X-FHIR-2), all of its SQL: what it knows of each
conversation (patient, reason, latest inbound / outbound message) and each message to
publish, gathered from events of several topics that arrive in any order; which messages
are ready; and what the server answered for each.

Every write is an idempotent upsert, so a redelivered batch changes nothing it did not
already change (the consumer's processed-event record skips most of them anyway)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import MessageReceived, MessageRouted
from switchboard.events.actions import ConversationLinked, ReplyRequested
from switchboard.events.config import ReasonAdded
from switchboard.events.delivery import ReplySent
from switchboard.pm_sync.adapters import storage

M = storage.fhir_out_messages
C = storage.fhir_out_conversations
R = storage.fhir_out_reasons


@dataclass(frozen=True, slots=True)
class Ready:
    """A message whose Communication can be published now, with its conversation's facts."""

    practice_id: str
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    direction: str
    channel: str
    at: datetime
    patient_id: str
    reason: str
    body: str | None
    subject: str | None
    attachments: int
    provider_id: str | None
    staff_user: str | None
    in_response_to: uuid.UUID | None


async def _conversation(
    session: AsyncSession, practice_id: str, conversation_id: uuid.UUID
) -> Mapping[str, Any] | None:
    row = (
        await session.execute(
            select(C).where(C.c.practice_id == practice_id, C.c.conversation_id == conversation_id)
        )
    ).first()
    return dict(row._mapping) if row is not None else None


async def _touch_conversation(session: AsyncSession, practice_id: str, cid: uuid.UUID) -> None:
    await session.execute(
        insert(C).values(practice_id=practice_id, conversation_id=cid).on_conflict_do_nothing()
    )


async def _set_patient(
    session: AsyncSession, practice_id: str, cid: uuid.UUID, patient_id: str, *, force: bool
) -> None:
    """A link (`force`) names the patient; a message's or a routing's match only fills a gap."""
    await _touch_conversation(session, practice_id, cid)
    value = patient_id if force else func.coalesce(C.c.patient_id, patient_id)
    await session.execute(
        update(C)
        .where(C.c.practice_id == practice_id, C.c.conversation_id == cid)
        .values(patient_id=value)
    )


def _keep_waiting(column: str, value: Any) -> Any:
    """A fact about a message already published is not rewritten (nor a body kept)."""
    return case((M.c.state == "waiting", value), else_=M.c[column])


async def received(session: AsyncSession, e: MessageReceived, keep_body: bool) -> None:
    conv = await _conversation(session, e.practice_id, e.conversation_id)
    answered = None
    if conv and conv["last_outbound_id"] and conv["last_outbound_at"] <= e.received_at:
        answered = conv["last_outbound_id"]  # the patient answers the latest reply
    values = {
        "practice_id": e.practice_id,
        "message_id": e.message_id,
        "conversation_id": e.conversation_id,
        "direction": "inbound",
        "channel": e.channel,
        "at": e.received_at,
        "body": e.body if keep_body else None,
        "subject": e.subject if keep_body else None,
        "attachments": len(e.attachments),
        "in_response_to": answered,
    }
    stmt = insert(M).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[M.c.practice_id, M.c.message_id],
            set_={
                k: _keep_waiting(k, stmt.excluded[k])
                for k in ("channel", "at", "body", "subject", "attachments", "in_response_to")
            },
        )
    )
    await _touch_conversation(session, e.practice_id, e.conversation_id)
    await session.execute(
        update(C)
        .where(
            C.c.practice_id == e.practice_id,
            C.c.conversation_id == e.conversation_id,
            or_(C.c.last_inbound_at.is_(None), C.c.last_inbound_at <= e.received_at),
        )
        .values(last_inbound_id=e.message_id, last_inbound_at=e.received_at)
    )
    if e.patient_id:
        await _set_patient(session, e.practice_id, e.conversation_id, e.patient_id, force=False)


async def routed(session: AsyncSession, e: MessageRouted) -> None:
    await _touch_conversation(session, e.practice_id, e.conversation_id)
    # The conversation's reason is its newest decision's (a re-route changes it).
    await session.execute(
        update(C)
        .where(
            C.c.practice_id == e.practice_id,
            C.c.conversation_id == e.conversation_id,
            or_(C.c.reason_at.is_(None), C.c.reason_at <= e.decided_at),
        )
        .values(reason=e.reason, reason_at=e.decided_at)
    )
    if e.patient_id:
        await _set_patient(session, e.practice_id, e.conversation_id, e.patient_id, force=False)
    if e.trigger != "message" or e.message_id is None:
        return
    stmt = insert(M).values(
        practice_id=e.practice_id,
        message_id=e.message_id,
        conversation_id=e.conversation_id,
        direction="inbound",
        reason=e.reason,
        provider_id=e.provider_id,
        routed=True,
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[M.c.practice_id, M.c.message_id],
            set_={
                "reason": _keep_waiting("reason", stmt.excluded.reason),
                "provider_id": _keep_waiting("provider_id", stmt.excluded.provider_id),
                "routed": True,
            },
        )
    )


async def linked(session: AsyncSession, e: ConversationLinked) -> None:
    await _set_patient(session, e.practice_id, e.conversation_id, e.patient_id, force=True)


async def reply_requested(session: AsyncSession, e: ReplyRequested, keep_body: bool) -> None:
    conv = await _conversation(session, e.practice_id, e.conversation_id)
    await _touch_conversation(session, e.practice_id, e.conversation_id)
    stmt = insert(M).values(
        practice_id=e.practice_id,
        message_id=e.message_id,
        conversation_id=e.conversation_id,
        direction="outbound",
        channel=e.channel,
        body=e.body if keep_body else None,
        subject=e.subject if keep_body else None,
        attachments=len(e.attachments),
        staff_user=e.actor,
        # the reply answers the latest message the patient had sent when it was written
        in_response_to=conv["last_inbound_id"] if conv else None,
        requested=True,
    )
    changing = ("channel", "body", "subject", "attachments", "staff_user", "in_response_to")
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[M.c.practice_id, M.c.message_id],
            set_={
                **{k: _keep_waiting(k, stmt.excluded[k]) for k in changing},
                "requested": True,
            },
        )
    )


async def reply_sent(session: AsyncSession, e: ReplySent) -> None:
    await _touch_conversation(session, e.practice_id, e.conversation_id)
    stmt = insert(M).values(
        practice_id=e.practice_id,
        message_id=e.message_id,
        conversation_id=e.conversation_id,
        direction="outbound",
        channel=e.channel,
        at=e.sent_at,
        staff_user=e.actor,
        sent=True,
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[M.c.practice_id, M.c.message_id],
            set_={
                "at": _keep_waiting("at", stmt.excluded.at),
                "channel": func.coalesce(M.c.channel, stmt.excluded.channel),
                "staff_user": func.coalesce(M.c.staff_user, stmt.excluded.staff_user),
                "sent": True,
            },
        )
    )
    await session.execute(
        update(C)
        .where(
            C.c.practice_id == e.practice_id,
            C.c.conversation_id == e.conversation_id,
            or_(C.c.last_outbound_at.is_(None), C.c.last_outbound_at <= e.sent_at),
        )
        .values(last_outbound_id=e.message_id, last_outbound_at=e.sent_at)
    )


async def reason_added(session: AsyncSession, e: ReasonAdded) -> None:
    stmt = insert(R).values(practice_id=e.practice_id, code=e.code, label=e.label)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[R.c.practice_id, R.c.code], set_={"label": stmt.excluded.label}
        )
    )


async def reason_labels(session: AsyncSession, practice_id: str) -> dict[str, str]:
    rows = await session.execute(select(R.c.code, R.c.label).where(R.c.practice_id == practice_id))
    return {str(code): str(label) for code, label in rows}


async def lock_conversation(
    session: AsyncSession, practice_id: str, conversation_id: uuid.UUID
) -> None:
    """Take the conversation's row lock until commit. With several replicas, two facts of one
    message (its receipt, its routing) can be applied at once by two transactions, each
    blind to the other's: the one that locks second waits for the first to commit, and its
    `ready` (a new statement, READ COMMITTED) then sees both, so the message is not left
    unpublished. A deadlock between two such batches is retried by the consumer policy."""
    await session.execute(
        select(C.c.conversation_id)
        .where(C.c.practice_id == practice_id, C.c.conversation_id == conversation_id)
        .with_for_update()
    )


async def ready(session: AsyncSession, practice_id: str, conversation_id: uuid.UUID) -> list[Ready]:
    """The conversation's messages that can be published, oldest first: it has a patient;
    an inbound message was received and routed; a reply was requested and sent."""
    inbound = and_(M.c.direction == "inbound", M.c.routed, M.c.at.is_not(None))
    outbound = and_(M.c.direction == "outbound", M.c.requested, M.c.sent, C.c.reason.is_not(None))
    rows = await session.execute(
        select(
            M,
            C.c.patient_id,
            func.coalesce(M.c.reason, C.c.reason).label("the_reason"),
        )
        .join(
            C,
            and_(C.c.practice_id == M.c.practice_id, C.c.conversation_id == M.c.conversation_id),
        )
        .where(
            M.c.practice_id == practice_id,
            M.c.conversation_id == conversation_id,
            M.c.state == "waiting",
            C.c.patient_id.is_not(None),
            or_(inbound, outbound),
        )
        .order_by(M.c.at, M.c.message_id)
    )
    return [
        Ready(
            practice_id=r.practice_id,
            message_id=r.message_id,
            conversation_id=r.conversation_id,
            direction=r.direction,
            channel=r.channel or "",
            at=r.at,
            patient_id=r.patient_id,
            reason=r.the_reason,
            body=r.body,
            subject=r.subject,
            attachments=r.attachments,
            provider_id=r.provider_id,
            staff_user=r.staff_user,
            in_response_to=r.in_response_to,
        )
        for r in rows
    ]


async def server_ids(
    session: AsyncSession, practice_id: str, message_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The server ids of these messages' published Communications."""
    if not message_ids:
        return {}
    rows = await session.execute(
        select(M.c.message_id, M.c.server_id).where(
            M.c.practice_id == practice_id,
            M.c.message_id.in_(list(message_ids)),
            M.c.server_id.is_not(None),
        )
    )
    return {mid: str(sid) for mid, sid in rows}


async def published(
    session: AsyncSession, practice_id: str, message_id: uuid.UUID, server_id: str | None
) -> None:
    """The server holds it: the body is no longer needed here."""
    await session.execute(
        update(M)
        .where(M.c.practice_id == practice_id, M.c.message_id == message_id)
        .values(
            state="published",
            server_id=server_id,
            published_at=func.now(),
            body=None,
            subject=None,
        )
    )


async def rejected(
    session: AsyncSession, practice_id: str, message_id: uuid.UUID, reason: str
) -> None:
    await session.execute(
        update(M)
        .where(M.c.practice_id == practice_id, M.c.message_id == message_id)
        .values(state="rejected", rejected_reason=reason[:500], body=None, subject=None)
    )
