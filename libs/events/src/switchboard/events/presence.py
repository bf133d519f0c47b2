"""Who is viewing or typing in a conversation right now (I-LIVE-1).

Presence travels through Kafka, not a gateway's memory, so staff connected to different
gateway replicas see each other. The topic keeps an hour: presence is never history.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, Field

from switchboard.events.envelope import Event
from switchboard.events.registry import register
from switchboard.events.topics import Topic


@register
class PresenceChanged(Event):
    """A staff member started viewing, is typing, or left a conversation. Clients treat a
    state as expired at `expires_at` unless it is repeated (a heartbeat)."""

    topic = Topic.PRESENCE
    event_type: Literal["PresenceChanged"] = "PresenceChanged"
    version: Literal[1] = 1

    conversation_id: uuid.UUID
    staff_id: str = Field(min_length=1, max_length=128)
    display_name: str = Field(default="", max_length=200)
    state: Literal["viewing", "typing", "left"]
    expires_at: AwareDatetime

    def partition_key(self) -> str:
        return f"{self.practice_id}:{self.conversation_id}"
