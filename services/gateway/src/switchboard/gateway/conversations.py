"""A conversation as the staff API lists it, and who it can be assigned to: shared by the
inbox views, search, the conversation detail and the staff actions (routes/), which as route
modules do not import each other."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.gateway import access, storage
from switchboard.gateway.auth import Principal
from switchboard.gateway.readmodel import inbox


class Patient(BaseModel):
    patient_id: str
    name: str


class ConversationSummary(BaseModel):
    conversation_id: uuid.UUID
    channel: str
    line: str
    sender: str
    patient_id: str | None
    patient: Patient | None
    unrecognized: bool
    matched_patient_ids: list[str]
    status: str
    assignee: str | None
    # Labels (R-LABEL-1): null in custom shared inboxes.
    reason: str | None
    location_id: str | None
    location_name: str | None
    inboxes: list[str]
    message_count: int
    last_message_at: datetime | None
    unread: bool
    version: int
    # While status is "snoozed" (I-SNOOZE-1): when it comes back (null: when the patient writes).
    snoozed_until: datetime | None = None


def summary(row: dict[str, Any], labels: bool = True) -> ConversationSummary:
    name = " ".join(x for x in (row.get("given_name"), row.get("family_name")) if x)
    read_at, inbound = row.get("read_at"), row.get("last_inbound_at")
    return ConversationSummary(
        conversation_id=row["conversation_id"],
        channel=row["channel"],
        line=row["line"],
        sender=row["sender"],
        patient_id=row["patient_id"],
        patient=Patient(patient_id=row["patient_id"], name=name) if row["patient_id"] else None,
        unrecognized=row["patient_id"] is None,
        matched_patient_ids=list(row["matched_patient_ids"] or []),
        status=row["status"],
        assignee=row["assignee"],
        reason=row["reason"] if labels else None,
        location_id=row["location_id"] if labels else None,
        location_name=row.get("location_name") if labels else None,
        inboxes=list(row["inboxes"] or []),
        message_count=row["message_count"],
        last_message_at=row["last_message_at"],
        unread=inbound is not None and (read_at is None or inbound > read_at),
        version=row["version"],
        snoozed_until=row.get("snoozed_until"),
    )


async def eligible_assignees(
    session: AsyncSession, practice_id: str, boxes: list[str]
) -> list[dict[str, str]]:
    u = storage.users.c
    rows = await session.execute(
        select(u.user_id, u.display_name, u.role, u.policies)
        .where(u.practice_id == practice_id)
        .order_by(u.display_name)
    )
    out = []
    for r in rows:
        target = Principal(r.user_id, practice_id, r.role, frozenset(r.policies))
        subscribed = await inbox.subscribed_inboxes(session, practice_id, r.user_id)
        if access.can_see(target, boxes, subscribed):
            out.append({"user_id": r.user_id, "display_name": r.display_name})
    return out
