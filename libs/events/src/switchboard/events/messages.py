"""Message events: what came in, and where it was routed."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from switchboard.events.envelope import Event
from switchboard.events.registry import register
from switchboard.events.topics import Topic

Channel = Literal["sms", "email", "secure_email", "web_chat", "voicemail"]


class Attachment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    attachment_id: str
    content_type: str
    size_bytes: int = Field(ge=0)
    filename: str | None = None
    # Where the bytes are: an attachment-store key or the provider's media URL.
    ref: str
    # Length of a recording (a voicemail), in seconds.
    duration_s: float | None = Field(default=None, ge=0)


class EmailThreading(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()


@register
class MessageReceived(Event):
    """An inbound patient message, normalised from any channel. Contains patient data."""

    topic = Topic.MESSAGES
    event_type: Literal["MessageReceived"] = "MessageReceived"
    version: Literal[1] = 1
    phi_fields = frozenset(
        {"sender", "body", "subject", "attachments", "email_threading", "voicemail_extension"}
    )

    message_id: uuid.UUID
    conversation_id: uuid.UUID
    channel: Channel
    sender: str = Field(min_length=1, max_length=320)
    recipient: str = Field(min_length=1, max_length=320)
    provider: str
    provider_message_id: str = Field(min_length=1, max_length=256)
    received_at: AwareDatetime
    body: str = ""
    subject: str | None = None
    attachments: tuple[Attachment, ...] = ()
    patient_id: str | None = None
    selected_reason: str | None = None
    voicemail_extension: str | None = None
    email_threading: EmailThreading | None = None
    # The label of the practice line written to (I-LINE-1: shown beside the patient's name).
    line_label: str | None = Field(default=None, max_length=80)

    def partition_key(self) -> str:
        # One sender's messages stay in order: stickiness depends on the previous one.
        return f"{self.practice_id}:{self.sender}"


@register
class MessageDeferred(Event):
    """An inbound message accepted while ingest's database was unreachable (ADR 0008): the
    MessageReceived ingest would publish, but with a provisional conversation id, since the
    look-ups that decide it (is the sender exactly one patient's; which email thread) wait
    for the database. ingest's own consumer does them later, with the same rules, and
    publishes `message` with the conversation it would have had. Contains patient data."""

    topic = Topic.INTAKE
    event_type: Literal["MessageDeferred"] = "MessageDeferred"
    version: Literal[1] = 1
    phi_fields = frozenset({"message"})

    message: MessageReceived

    def partition_key(self) -> str:
        return self.message.partition_key()


class RuleFired(BaseModel):
    """One step of a routing decision: the rule id, what it concluded, and its inputs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    outcome: str
    inputs: dict[str, str | int | bool | list[str] | None] = Field(default_factory=dict)


ReasonSource = Literal["patient_pick", "sticky", "voicemail_extension", "cleared", "kept", "none"]
LocationSource = Literal["next_appointment", "profile", "unknown"]


@register
class MessageRouted(Event):
    """The router's decision for one message (or a re-route), with its explanation."""

    topic = Topic.ROUTING
    event_type: Literal["MessageRouted"] = "MessageRouted"
    version: Literal[1] = 1

    message_id: uuid.UUID | None
    conversation_id: uuid.UUID
    patient_id: str | None = None
    trigger: Literal["message", "reroute"] = "message"
    reason: str
    reason_source: ReasonSource
    location_id: str | None = None
    location_source: LocationSource = "unknown"
    provider_id: str | None = None
    recipients: tuple[str, ...] = ()
    inboxes: tuple[str, ...] = ("unassigned",)
    assignee: str | None = None
    settings_version: int = 0
    subscriptions_version: int = 0
    # The patients the sender's phone or email belongs to, when it is not exactly one: the
    # conversation is unrecognized until staff link one (I-UNREC-1).
    matched_patient_ids: tuple[str, ...] = ()
    explanation: tuple[RuleFired, ...] = ()
    decided_at: AwareDatetime

    def partition_key(self) -> str:
        return f"{self.practice_id}:{self.conversation_id}"
