"""The public stream's translator: internal events -> public events (ADR 0022). Pure.

One internal event gives zero or more public events, in the order a subscriber should see
them (`conversation.created` before the conversation's first `message.received`; the public
event before its content). Every public event:
- has an id derived from the internal event's id and its own type (`public_id`), so
  translating the same event again (a redelivery, a replay, a restarted translator) gives the
  same ids and a subscriber drops the duplicate; `conversation.created` derives from the
  conversation id, so there is at most one per conversation whatever happens;
- keeps the internal event's practice, correlation and time; its causation is the internal
  event;
- carries no patient data unless it is a content event (topic `switchboard.public.content`).

Whether a conversation is new is state: the caller (public_handler.py) knows it.
"""

from __future__ import annotations

from switchboard.events import (
    ConversationAssigned,
    ConversationLinked,
    ConversationStatusChanged,
    Event,
    MessageReceived,
    MessageRouted,
    ReplyFailed,
    ReplyRequested,
    ReplySent,
)
from switchboard.events.public import (
    PublicConversationAssigned,
    PublicConversationCreated,
    PublicConversationLinked,
    PublicConversationPatientLinked,
    PublicConversationRouted,
    PublicConversationStatusChanged,
    PublicMessageContent,
    PublicMessageReceived,
    PublicReplyFailed,
    PublicReplySent,
    public_id,
)

# The internal events that have a public side; everything else is read past.
TRANSLATED = (
    MessageReceived,
    MessageRouted,
    ConversationAssigned,
    ConversationStatusChanged,
    ConversationLinked,
    ReplyRequested,
    ReplySent,
    ReplyFailed,
)


def _ids(event: Event, public_type: str) -> dict[str, object]:
    return {
        "event_id": public_id(public_type, event.event_id),
        "occurred_at": event.occurred_at,
    }


def translate(event: Event, *, new_conversation: bool = False) -> list[Event]:
    """The public events of one internal event. `new_conversation`: this MessageReceived
    opens a conversation the stream has not announced yet."""
    if isinstance(event, MessageReceived):
        return _received(event, new_conversation)
    if isinstance(event, MessageRouted):
        return [
            PublicConversationRouted.derive(
                event,
                **_ids(event, "public.conversation.routed"),
                conversation_id=event.conversation_id,
                message_id=event.message_id,
                trigger=event.trigger,
                reason=event.reason,
                inboxes=event.inboxes,
                recipients=event.recipients,
                assignee=event.assignee,
                location_id=event.location_id,
                provider_id=event.provider_id,
                routed_at=event.decided_at,
            )
        ]
    if isinstance(event, ConversationAssigned):
        return [
            PublicConversationAssigned.derive(
                event,
                **_ids(event, "public.conversation.assigned"),
                conversation_id=event.conversation_id,
                assignee=event.assignee,
                actor=event.actor,
                assigned_at=event.occurred_at,
            )
        ]
    if isinstance(event, ConversationStatusChanged):
        return [
            PublicConversationStatusChanged.derive(
                event,
                **_ids(event, "public.conversation.status_changed"),
                conversation_id=event.conversation_id,
                status=event.status,
                actor=event.actor,
                changed_at=event.occurred_at,
            )
        ]
    if isinstance(event, ConversationLinked):
        return [
            PublicConversationLinked.derive(
                event,
                **_ids(event, "public.conversation.linked"),
                conversation_id=event.conversation_id,
                actor=event.actor,
                linked_at=event.occurred_at,
            ),
            PublicConversationPatientLinked.derive(
                event,
                **_ids(event, "public.conversation.patient_linked"),
                conversation_id=event.conversation_id,
                patient_id=event.patient_id,
                actor=event.actor,
            ),
        ]
    if isinstance(event, ReplyRequested):
        # The reply's text, for entitled subscribers; whether it went out is ReplySent.
        return [
            PublicMessageContent.derive(
                event,
                **_ids(event, "public.message.content"),
                conversation_id=event.conversation_id,
                message_id=event.message_id,
                direction="outbound",
                channel=event.channel,
                body=event.body,
                subject=event.subject,
            )
        ]
    if isinstance(event, ReplySent):
        return [
            PublicReplySent.derive(
                event,
                **_ids(event, "public.reply.sent"),
                conversation_id=event.conversation_id,
                message_id=event.message_id,
                channel=event.channel,
                actor=event.actor,
                sent_at=event.sent_at,
            )
        ]
    if isinstance(event, ReplyFailed):
        return [
            PublicReplyFailed.derive(
                event,
                **_ids(event, "public.reply.failed"),
                conversation_id=event.conversation_id,
                message_id=event.message_id,
                channel=event.channel,
                actor=event.actor,
                why=event.why,
                failed_at=event.failed_at,
            )
        ]
    return []


def _received(event: MessageReceived, new_conversation: bool) -> list[Event]:
    out: list[Event] = []
    if new_conversation:
        out.append(
            PublicConversationCreated.derive(
                event,
                event_id=public_id("public.conversation.created", event.conversation_id),
                occurred_at=event.occurred_at,
                conversation_id=event.conversation_id,
                channel=event.channel,
                line_label=event.line_label,
                created_at=event.received_at,
            )
        )
    out.append(
        PublicMessageReceived.derive(
            event,
            **_ids(event, "public.message.received"),
            conversation_id=event.conversation_id,
            message_id=event.message_id,
            channel=event.channel,
            line_label=event.line_label,
            attachment_count=len(event.attachments),
            received_at=event.received_at,
        )
    )
    out.append(
        PublicMessageContent.derive(
            event,
            **_ids(event, "public.message.content"),
            conversation_id=event.conversation_id,
            message_id=event.message_id,
            direction="inbound",
            channel=event.channel,
            body=event.body,
            subject=event.subject,
            patient_id=event.patient_id,
        )
    )
    return out


def in_stream_order(events: list[Event]) -> list[Event]:
    """A poll mixes internal topics, which Kafka does not order against each other: put the
    translatable ones in the order they happened (stable, so one topic's order is kept when
    times tie), so `message.received` comes before the `routed` it caused."""
    return sorted((e for e in events if isinstance(e, TRANSLATED)), key=lambda e: e.occurred_at)
