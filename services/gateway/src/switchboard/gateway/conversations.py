"""A conversation as the staff API lists it, and who it can be assigned to: shared by the
inbox views, search, the conversation detail and the staff actions (routes/), which as route
modules do not import each other."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.gateway import access, staff, storage
from switchboard.gateway.auth import Principal
from switchboard.gateway.readmodel import inbox


class Patient(BaseModel):
    patient_id: str
    name: str


class Location(BaseModel):
    """Where the conversation is routed by location, said explicitly (R-LOC-4):
    `{"state": "known", "id", "name", "source"}` or `{"state": "unknown"}` (no upcoming
    appointment and no profile location: the "Location unknown" bucket, R-SUB-1)."""

    state: Literal["known", "unknown"]
    id: str | None = None
    name: str | None = None
    # How the router found it: next_appointment (R-LOC-1) or profile (R-LOC-2).
    source: str | None = None


REASON_SOURCE_DOC = (
    "Why it carries `reason` (R-REASON-4): picked (the patient chose it, Other included), "
    "sticky (within the hour), voicemail_extension, cleared_by_sms, cleared_by_voicemail "
    "(R-OVERWRITE-1: `reason` is then `other` though nobody picked Other), kept, none "
    "(reason routing off, or never asked); null when not recorded."
)


def location_of(row: dict[str, Any]) -> Location:
    """The explicit location of a conversation or decision row (R-LOC-4)."""
    if row.get("location_id") is None:
        return Location(state="unknown")
    source = row.get("location_source")
    return Location(
        state="known",
        id=row["location_id"],
        name=row.get("location_name"),
        source=source if source != "unknown" else None,
    )


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
    reason_source: str | None = Field(default=None, description=REASON_SOURCE_DOC)
    location_id: str | None
    location_name: str | None
    # Null where labels are hidden (custom shared inboxes), like `location_id`.
    location: Location | None = None
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
        reason_source=row.get("reason_source") if labels else None,
        location_id=row["location_id"] if labels else None,
        location_name=row.get("location_name") if labels else None,
        location=location_of(row) if labels else None,
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
        # People only: an API client may read the conversation but is not assigned work.
        if r.role in staff.PEOPLE_ROLES and access.can_see(target, boxes, subscribed):
            out.append({"user_id": r.user_id, "display_name": r.display_name})
    return out
