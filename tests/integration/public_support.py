"""Helpers for the public stream's integration tests: a conversation's internal events, and
the public event types they give, in order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from switchboard.events import (
    ConversationAssigned,
    ConversationLinked,
    ConversationStatusChanged,
    Event,
    MessageReceived,
    MessageRouted,
    ReplyRequested,
    ReplySent,
)

BODY = "my knee still hurts, can I get a refill"
SENDER = "+12125550199"


def conversation(practice: str, conv: uuid.UUID) -> list[Event]:
    """A conversation's internal events: a message, its routing, an assignment, a link, a
    reply and its delivery, a close; one second apart."""
    t0 = datetime.now(UTC)
    corr = uuid.uuid4()

    def env(i: int) -> dict[str, Any]:
        return {
            "event_id": uuid.uuid4(),
            "occurred_at": t0 + timedelta(seconds=i),
            "practice_id": practice,
            "correlation_id": corr,
        }

    msg = uuid.uuid4()
    reply = uuid.uuid4()
    return [
        MessageReceived(
            **env(0),
            message_id=msg,
            conversation_id=conv,
            channel="sms",
            sender=SENDER,
            recipient="+12125550000",
            provider="twilio",
            provider_message_id=f"SM{msg.hex}",
            received_at=t0,
            body=BODY,
            line_label="Front desk",
        ),
        MessageRouted(
            **env(1),
            message_id=msg,
            conversation_id=conv,
            reason="refills",
            reason_source="patient_pick",
            inboxes=("unassigned",),
            decided_at=t0 + timedelta(seconds=1),
        ),
        ConversationAssigned(**env(2), conversation_id=conv, actor="u-admin", assignee="u-anna"),
        ConversationLinked(**env(3), conversation_id=conv, actor="u-anna", patient_id="pat-42"),
        ReplyRequested(
            **env(4),
            conversation_id=conv,
            actor="u-anna",
            message_id=reply,
            channel="sms",
            line="+12125550000",
            to=SENDER,
            body="Refill sent to your pharmacy",
            requested_at=t0 + timedelta(seconds=4),
        ),
        ReplySent(
            **env(5),
            conversation_id=conv,
            message_id=reply,
            channel="sms",
            actor="u-anna",
            sent_at=t0 + timedelta(seconds=5),
        ),
        ConversationStatusChanged(**env(6), conversation_id=conv, actor="u-anna", status="closed"),
    ]


PUBLIC_ORDER = [
    "public.conversation.created",
    "public.message.received",
    "public.conversation.routed",
    "public.conversation.assigned",
    "public.conversation.linked",
    "public.reply.sent",
    "public.conversation.status_changed",
]
