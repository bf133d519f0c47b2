"""What staff (and patients) do to a conversation: each action is an event (I-AUDIT-1).

The gateway validates an action and appends it; projections and the router apply it.
`expected_version` is the conversation version the actor saw, so a projection can refuse an
action on a conversation that changed meanwhile (optimistic concurrency).
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from switchboard.events.envelope import Event
from switchboard.events.messages import Channel
from switchboard.events.registry import register
from switchboard.events.topics import Topic


class ConversationAction(Event):
    topic = Topic.ACTIONS
    conversation_id: uuid.UUID
    actor: str = Field(min_length=1, max_length=128)
    expected_version: int | None = Field(default=None, ge=0)
    # Optional and additive (docs/events.md): set on every event of one bulk action (I-BULK-1).
    batch_id: uuid.UUID | None = Field(
        default=None,
        description="The bulk action this event is one of: every conversation's event in one "
        "bulk assign / close / reopen / snooze carries the same id (I-BULK-1).",
    )

    def partition_key(self) -> str:
        return f"{self.practice_id}:{self.conversation_id}"


@register
class ConversationAssigned(ConversationAction):
    """Assigned to a person, or unassigned (`assignee` None) (I-ASSIGN-1)."""

    event_type: Literal["ConversationAssigned"] = "ConversationAssigned"
    version: Literal[1] = 1

    assignee: str | None = None


@register
class ConversationStatusChanged(ConversationAction):
    """Opened or closed by hand; closed by "Send and Close" once the reply was sent, or
    opened again because a reply failed (I-STATUS-1, I-DELIV-1, I-DELIV-2: then appended by
    ingest, caused by the ReplySent / ReplyFailed)."""

    event_type: Literal["ConversationStatusChanged"] = "ConversationStatusChanged"
    version: Literal[1] = 1

    status: Literal["open", "closed"]


@register
class ConversationLinked(ConversationAction):
    """An unrecognized conversation linked to a patient, which makes it answerable (I-UNREC-1)."""

    event_type: Literal["ConversationLinked"] = "ConversationLinked"
    version: Literal[1] = 1

    patient_id: str = Field(min_length=1, max_length=128)


@register
class PracticeMessageRead(ConversationAction):
    """The patient read a practice message (a read receipt; R-REASON-3 depends on it).
    `actor` is "patient:<id>" or the channel's name for an anonymous reader."""

    event_type: Literal["PracticeMessageRead"] = "PracticeMessageRead"
    version: Literal[1] = 1

    message_id: uuid.UUID
    read_at: AwareDatetime


class ReplyAttachment(BaseModel):
    """A file sent with a reply: a patient document or an upload, by reference (I-REPLY-1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ref: str = Field(min_length=1, max_length=1024)
    filename: str | None = Field(default=None, max_length=255)
    content_type: str | None = Field(default=None, max_length=128)


@register
class ReplyRequested(ConversationAction):
    """A staff reply handed to ingest to send on the conversation's channel and line
    (I-REPLY-1, I-LINE-1). Contains patient data (the body). `keep_open` False is "Send and
    Close" (I-STATUS-1): ingest appends the close once the channel accepted the reply, with
    its ReplySent (I-DELIV-1). `message_id` is the outbound message's id, which the delivery
    events (ReplySent / ReplyFailed / ReplyDeliveryUpdated) name. `retry_of` names the failed
    reply this one sends again (I-DELIV-4). `unverified_sender` marks (and audits) a reply to
    an unrecognized sender (X-UNREPLY-1)."""

    event_type: Literal["ReplyRequested"] = "ReplyRequested"
    version: Literal[1] = 1
    phi_fields = frozenset({"to", "body", "subject", "attachments"})

    message_id: uuid.UUID
    channel: Channel
    line: str = Field(min_length=1, max_length=320)
    to: str = Field(min_length=1, max_length=320)
    body: str = Field(default="", max_length=20_000)
    subject: str | None = Field(default=None, max_length=998)
    attachments: tuple[ReplyAttachment, ...] = ()
    secure: bool = False
    keep_open: bool = False
    template_id: str | None = Field(default=None, max_length=128)
    requested_at: AwareDatetime
    retry_of: uuid.UUID | None = Field(
        default=None,
        description="The message id of the failed reply this one sends again (a Retry).",
    )
    unverified_sender: bool = Field(
        default=False,
        description=(
            "A reply to an unrecognized sender (X-UNREPLY-1): the conversation has no patient;"
            " the practice allowed such replies and the actor has the policy. `to` and `line`"
            " are the conversation's own sender and line."
        ),
    )


@register
class ConversationRead(ConversationAction):
    """A staff member opened the conversation: their unread marker moves to `read_at`."""

    event_type: Literal["ConversationRead"] = "ConversationRead"
    version: Literal[1] = 1

    read_at: AwareDatetime
