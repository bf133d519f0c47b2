"""A conversation as staff read it: every message, every routing decision and the latest
explanation; and who it can be assigned to.

    GET /api/conversations/{id}                       history + explanation (T-3)
    GET /api/conversations/{id}/assignees             I-ASSIGN-1

Every route with a conversation id checks it through one dependency,
conversation_access.py: another practice's conversation is a 404 exactly like a missing one
(T-1); one outside every view the user may read is a 403 (T-2).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from switchboard.events import ConversationRead
from switchboard.gateway.access_log import record_access
from switchboard.gateway.app_state import session_of
from switchboard.gateway.conversation_access import (
    Caller,
    VisibleConversation,
    unverified_reply_refusal,
)
from switchboard.gateway.conversations import (
    REASON_SOURCE_DOC,
    ConversationSummary,
    Location,
    eligible_assignees,
    location_of,
    summary,
)
from switchboard.gateway.delivery_state import newest
from switchboard.gateway.readmodel import inbox
from switchboard.platform.kafka import PublishError
from switchboard.platform.logging import get_logger
from switchboard.platform.problems import AUTHED, PEERS, problems

log = get_logger(__name__)
router = APIRouter(
    prefix="/api", tags=["inbox"], responses=AUTHED | PEERS | problems(404, 409, 413)
)


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
    actor: str | None
    details: dict[str, Any] | None
    delivery: dict[str, Any] | None
    # An inbound message's own routing (its decision, R-REASON-4, R-LOC-4): null for
    # outbound ones.
    reason: str | None = None
    reason_source: str | None = Field(default=None, description=REASON_SOURCE_DOC)
    location: Location | None = None
    # The newest delivery state, a failure in words (I-DELIV-3, I-DELIV-5); None inbound.
    delivery_state: dict[str, Any] | None = None
    # The reply that sent this failed one again (I-DELIV-4).
    retried_by: uuid.UUID | None = None


class Decision(BaseModel):
    event_id: uuid.UUID
    message_id: uuid.UUID | None
    trigger: str
    reason: str
    reason_source: str | None = Field(default=None, description=REASON_SOURCE_DOC)
    location_id: str | None
    location_name: str | None
    location: Location
    provider_id: str | None
    recipients: list[str]
    inboxes: list[str]
    decided_at: datetime


class UnverifiedReply(BaseModel):
    """X-UNREPLY-1: the conversation has no patient (the sender is not verified); whether
    the caller may answer it anyway, and why not."""

    allowed: bool
    why: str | None = None


class ConversationDetail(ConversationSummary):
    explanation: list[dict[str, Any]] | None
    decisions: list[Decision]
    messages: list[Message]
    sent_by: list[str]
    linked_by: str | None
    answerable: bool
    unverified_reply: UnverifiedReply | None = None


@router.get("/conversations/{conversation_id}")
async def read_conversation(
    conversation_id: uuid.UUID, request: Request, p: Caller, row: VisibleConversation
) -> ConversationDetail:
    """The conversation with every message, every routing decision (the selected reason
    each time, R-LABEL-1) and the latest explanation (R-EXPLAIN-1). Recorded (T-3)."""
    async with session_of(request) as session, session.begin():
        hist = await inbox.history(session, p.practice_id, conversation_id)
        await record_access(session, p, conversation_id, "read")
        unverified = None
        if row["patient_id"] is None:
            why = await unverified_reply_refusal(session, p, row)
            unverified = UnverifiedReply(allowed=why is None, why=why)
    read = ConversationRead(
        event_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        practice_id=p.practice_id,
        conversation_id=conversation_id,
        actor=p.user_id,
        read_at=datetime.now(UTC),
    )
    try:  # the unread marker; the access record above is what T-3 needs
        await request.app.state.runtime.publisher.publish([read], timeout_s=2)
    except PublishError:
        log.warning("read_marker_not_published", conversation_id=str(conversation_id))
    base = summary(row).model_dump()
    base["unread"] = False
    decisions = [Decision(**d, location=location_of(d)) for d in hist["decisions"]]
    return ConversationDetail(
        **base,
        explanation=row["explanation"],
        decisions=decisions,
        messages=messages(hist["messages"], decisions),
        sent_by=list(row["sent_by"] or []),
        linked_by=row["linked_by"],
        answerable=row["patient_id"] is not None,
        unverified_reply=unverified,
    )


def messages(rows: list[dict[str, Any]], decisions: list[Decision]) -> list[Message]:
    """The history's messages: each inbound one with its own decision's reason, reason
    source and location; each reply with its newest delivery state and its retry."""
    routed = {d.message_id: d for d in decisions if d.message_id is not None}
    retries = {
        str((m["details"] or {}).get("retry_of")): m["message_id"]
        for m in rows
        if (m["details"] or {}).get("retry_of")
    }
    out = []
    for m in rows:
        d = routed.get(m["message_id"]) if m["direction"] == "inbound" else None
        routing: dict[str, Any] = (
            {"reason": d.reason, "reason_source": d.reason_source, "location": d.location}
            if d is not None
            else {}
        )
        state = newest(m["delivery"], outbound=m["direction"] == "outbound")
        out.append(
            Message(
                **m,
                **routing,
                delivery_state=state.as_dict() if state else None,
                retried_by=retries.get(str(m["message_id"])),
            )
        )
    return out


@router.get("/conversations/{conversation_id}/assignees")
async def assignees(
    conversation_id: uuid.UUID, request: Request, p: Caller, row: VisibleConversation
) -> list[dict[str, str]]:
    """The users this conversation can be assigned to: those with access to it (I-ASSIGN-1)."""
    async with session_of(request) as session:
        return await eligible_assignees(session, p.practice_id, row["boxes"])
