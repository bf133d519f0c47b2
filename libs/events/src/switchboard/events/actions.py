"""What staff (and patients) do to a conversation: each action is an event (I-AUDIT-1).

The gateway validates an action and appends it; projections and the router apply it.
`expected_version` is the conversation version the actor saw, so a projection can refuse an
action on a conversation that changed meanwhile (optimistic concurrency).
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, Field

from switchboard.events.envelope import Event
from switchboard.events.registry import register
from switchboard.events.topics import Topic


class ConversationAction(Event):
    topic = Topic.ACTIONS
    conversation_id: uuid.UUID
    actor: str = Field(min_length=1, max_length=128)
    expected_version: int | None = Field(default=None, ge=0)

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
    """Opened or closed by hand, or closed by "Send and Close" (I-STATUS-1)."""

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
