"""The public event stream: conversation events designed for downstream subscribers (issue 16).

Internal topics stay free to change; these types are the product a subscriber (an EHR, a
data warehouse, a CRM, a webhook endpoint) builds on, and only evolve compatibly
(docs/events.md: their schemas are in the released snapshot like every other).

Two topics:
- `switchboard.public.conversations` (`PublicConversationEvent`): what happened to a
  conversation, as ids, codes, labels and times. NO patient content and no patient
  identifiers: no message text, no phone number or address, no patient id. A subscriber
  user may read it without being entitled to patient data.
- `switchboard.public.content` (`PublicContentEvent`): the content itself (message bodies,
  subjects, the patient a conversation belongs to), for subscribers entitled to it (a
  separate ACL). Each content event names the `message_id` / `conversation_id` of its
  public event, so a subscriber joins the two by id.

Both are keyed `<practice>:<conversation>`: the events of one conversation stay in order.
Types are versioned as `public.<noun>.<verb>` + `version` (`ce_type`
`com.switchboard.public.conversation.assigned.v1`). Event ids are derived from the internal
event's id (`public_id`), so a re-translation (a redelivery, a replay) yields the same ids
and a subscriber drops duplicates by `event_id` (the webhook id too).

The translation from internal events is `switchboard.notifier.public_stream` (ADR 0022).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from switchboard.events.envelope import Event, deterministic_id
from switchboard.events.messages import Channel
from switchboard.events.registry import register
from switchboard.events.topics import Topic

PUBLIC_PREFIX = "public."


def _conv() -> Any:
    return Field(
        description="The conversation's id (stable for the conversation's life).",
        examples=["0b6f7c1e-8c0a-5d55-9d3c-51a9e8f0b7a1"],
    )


def _msg() -> Any:
    return Field(
        description="The message's id: the inbound message, or the outbound reply.",
        examples=["5e2f9a0d-1b7c-5e44-8f21-7d6c0a9e3b52"],
    )


def _channel() -> Any:
    return Field(description="The channel: sms, email, secure_email, web_chat or voicemail.")


def _actor() -> Any:
    return Field(
        description="Who did it: a staff user id, `patient` for the patient, or `system`.",
        examples=["u-anna"],
    )


def _line_label() -> Any:
    return Field(
        default=None,
        max_length=80,
        description="The label of the practice line the conversation uses (e.g. `Front desk`), "
        "if the line has one.",
        examples=["Front desk"],
    )


def public_id(public_type: str, *source: str | uuid.UUID) -> uuid.UUID:
    """The public event's id: the same source (an internal event id, or a conversation id for
    `conversation.created`) always gives the same id, on every machine and every replay."""
    return deterministic_id("public", public_type, *source)


class PublicConversationEvent(Event):
    """A public conversation event: ids, codes, labels and times only."""

    topic = Topic.PUBLIC_CONVERSATIONS
    conversation_id: uuid.UUID = _conv()

    def partition_key(self) -> str:
        return f"{self.practice_id}:{self.conversation_id}"


@register
class PublicConversationCreated(PublicConversationEvent):
    """A new conversation: the first event of every conversation on the public topic."""

    event_type: Literal["public.conversation.created"] = "public.conversation.created"
    version: Literal[1] = 1

    channel: Channel = _channel()
    line_label: str | None = _line_label()
    created_at: AwareDatetime = Field(description="When the conversation's first message came in.")


@register
class PublicMessageReceived(PublicConversationEvent):
    """A patient message came in. Its text is on the content topic (same `message_id`)."""

    event_type: Literal["public.message.received"] = "public.message.received"
    version: Literal[1] = 1

    message_id: uuid.UUID = _msg()
    channel: Channel = _channel()
    line_label: str | None = _line_label()
    attachment_count: int = Field(
        default=0, ge=0, description="How many files came with it (their content is not here)."
    )
    received_at: AwareDatetime = Field(description="When the provider received the message.")


@register
class PublicConversationRouted(PublicConversationEvent):
    """The conversation was routed (a new message, or a re-route): to which reason, inboxes
    and staff. The router's explanation stays internal."""

    event_type: Literal["public.conversation.routed"] = "public.conversation.routed"
    version: Literal[1] = 1

    message_id: uuid.UUID | None = Field(
        default=None,
        description="The message that was routed; null for a re-route of the conversation.",
    )
    trigger: Literal["message", "reroute"] = Field(
        default="message", description="What caused it: a new message, or a re-route."
    )
    reason: str = Field(
        description="The routing reason (the practice's reason code).", examples=["refills"]
    )
    inboxes: tuple[str, ...] = Field(
        default=(), description="The inboxes the conversation appears in (box names)."
    )
    recipients: tuple[str, ...] = Field(
        default=(), description="The staff user ids the conversation was routed to."
    )
    assignee: str | None = Field(
        default=None, description="The staff user id it was assigned to by routing, if any."
    )
    location_id: str | None = Field(default=None, description="The practice location's id.")
    provider_id: str | None = Field(default=None, description="The provider's (clinician's) id.")
    routed_at: AwareDatetime = Field(description="When the router decided.")


@register
class PublicConversationAssigned(PublicConversationEvent):
    """Assigned to a staff member, or unassigned (`assignee` null)."""

    event_type: Literal["public.conversation.assigned"] = "public.conversation.assigned"
    version: Literal[1] = 1

    assignee: str | None = Field(
        default=None, description="The staff user id it is now assigned to; null = unassigned."
    )
    actor: str = _actor()
    assigned_at: AwareDatetime = Field(description="When it was (un)assigned.")


@register
class PublicConversationStatusChanged(PublicConversationEvent):
    """Opened or closed."""

    event_type: Literal["public.conversation.status_changed"] = "public.conversation.status_changed"
    version: Literal[1] = 1

    status: Literal["open", "closed"] = Field(description="The new status.")
    actor: str = _actor()
    changed_at: AwareDatetime = Field(description="When the status changed.")


@register
class PublicConversationLinked(PublicConversationEvent):
    """An unrecognized conversation was linked to a patient by staff. Which patient is on
    the content topic (`public.conversation.patient_linked`, patient identifiers)."""

    event_type: Literal["public.conversation.linked"] = "public.conversation.linked"
    version: Literal[1] = 1

    actor: str = _actor()
    linked_at: AwareDatetime = Field(description="When it was linked.")


@register
class PublicReplySent(PublicConversationEvent):
    """A staff reply went out (the provider accepted it). Its text is on the content topic."""

    event_type: Literal["public.reply.sent"] = "public.reply.sent"
    version: Literal[1] = 1

    message_id: uuid.UUID = _msg()
    channel: Channel = _channel()
    actor: str = _actor()
    sent_at: AwareDatetime = Field(description="When the provider accepted the reply.")


@register
class PublicReplyFailed(PublicConversationEvent):
    """A staff reply could not be sent."""

    event_type: Literal["public.reply.failed"] = "public.reply.failed"
    version: Literal[1] = 1

    message_id: uuid.UUID = _msg()
    channel: Channel = _channel()
    actor: str = _actor()
    why: str = Field(
        min_length=1,
        max_length=200,
        description="A short failure code (e.g. `provider_rejected`), never message text.",
        examples=["provider_rejected"],
    )
    failed_at: AwareDatetime = Field(description="When it failed.")


class PublicContentEvent(Event):
    """Patient content for entitled subscribers only (topic `switchboard.public.content`)."""

    topic = Topic.PUBLIC_CONTENT
    conversation_id: uuid.UUID = _conv()

    def partition_key(self) -> str:
        return f"{self.practice_id}:{self.conversation_id}"


@register
class PublicMessageContent(PublicContentEvent):
    """The content of a message: an inbound patient message or a staff reply. Contains
    patient data."""

    event_type: Literal["public.message.content"] = "public.message.content"
    version: Literal[1] = 1
    phi_fields = frozenset({"body", "subject"})

    message_id: uuid.UUID = _msg()
    direction: Literal["inbound", "outbound"] = Field(
        description="`inbound`: from the patient; `outbound`: a staff reply."
    )
    channel: Channel = _channel()
    body: str = Field(default="", description="The message text (patient data).")
    subject: str | None = Field(
        default=None, description="The email subject, if any (patient data)."
    )
    patient_id: str | None = Field(
        default=None,
        description="The patient's id in the practice-management system, when known "
        "(a patient identifier).",
    )


@register
class PublicConversationPatientLinked(PublicContentEvent):
    """Which patient an unrecognized conversation was linked to (a patient identifier)."""

    event_type: Literal["public.conversation.patient_linked"] = "public.conversation.patient_linked"
    version: Literal[1] = 1

    patient_id: str = Field(
        min_length=1,
        max_length=128,
        description="The patient's id in the practice-management system (a patient identifier).",
    )
    actor: str = _actor()


PUBLIC_CONVERSATION_TYPES: tuple[type[PublicConversationEvent], ...] = (
    PublicConversationCreated,
    PublicMessageReceived,
    PublicConversationRouted,
    PublicConversationAssigned,
    PublicConversationStatusChanged,
    PublicConversationLinked,
    PublicReplySent,
    PublicReplyFailed,
)
PUBLIC_CONTENT_TYPES: tuple[type[PublicContentEvent], ...] = (
    PublicMessageContent,
    PublicConversationPatientLinked,
)
PublicEvent = PublicConversationEvent | PublicContentEvent


def public_type_names() -> tuple[str, ...]:
    """Every public event type (`public.conversation.assigned`, ...), conversation ones first."""
    return tuple(
        str(c.model_fields["event_type"].default)
        for c in (*PUBLIC_CONVERSATION_TYPES, *PUBLIC_CONTENT_TYPES)
    )


def content_type_names() -> tuple[str, ...]:
    """The public types that carry patient data (the content topic)."""
    return tuple(str(c.model_fields["event_type"].default) for c in PUBLIC_CONTENT_TYPES)
