"""Outbound delivery results (Topic.DELIVERY): a staff reply went out, or could not.

The channels issue produces these; the notifier reads `ReplySent` as the first response
that stops a conversation's response timer (X-SLA-1).
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, Field

from switchboard.events.envelope import Event
from switchboard.events.messages import Channel
from switchboard.events.registry import register
from switchboard.events.topics import Topic


class DeliveryEvent(Event):
    topic = Topic.DELIVERY
    conversation_id: uuid.UUID
    message_id: uuid.UUID
    channel: Channel
    # The practice's sending line (number or address) the reply used (I-LINE-1).
    line: str | None = Field(default=None, max_length=320)
    # Who sent the reply (a user id), or "system".
    actor: str = Field(min_length=1, max_length=128)

    def partition_key(self) -> str:
        return f"{self.practice_id}:{self.conversation_id}"


@register
class ReplySent(DeliveryEvent):
    """The provider accepted a staff reply."""

    event_type: Literal["ReplySent"] = "ReplySent"
    version: Literal[1] = 1

    provider_message_id: str | None = Field(default=None, max_length=256)
    sent_at: AwareDatetime


@register
class ReplyFailed(DeliveryEvent):
    """A staff reply could not be sent; `why` is a short code, never message text."""

    event_type: Literal["ReplyFailed"] = "ReplyFailed"
    version: Literal[1] = 1

    provider_message_id: str | None = Field(default=None, max_length=256)
    why: str = Field(min_length=1, max_length=200)
    failed_at: AwareDatetime
