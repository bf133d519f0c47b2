"""Operators' actions on the system, kept as an audit trail (topic `switchboard.operations`).

Written by `switchboard-dlq`. None of these carries patient data: a dead letter is named by
its place on the dead-letter topic and the event id it holds, never by its content. `why` is
the operator's reason (a ticket reference), not a description of the patient.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from switchboard.events.envelope import Event
from switchboard.events.registry import register
from switchboard.events.topics import Topic

# "<partition>:<offset>" on the (prefixed) dead-letter topic: unique, stable for 90 days.
DEAD_LETTER_ID = r"^[0-9]+:[0-9]+$"


class _DeadLetterAction(Event):
    topic = Topic.OPERATIONS

    operator: str = Field(min_length=1, max_length=128)
    dead_letter_id: str = Field(pattern=DEAD_LETTER_ID, max_length=40, examples=["3:17"])
    # The consumer group that failed on it (its `dlq.consumer` header).
    consumer: str = Field(min_length=1, max_length=128)
    # The event the dead letter holds, when it could be read as one.
    dead_event_id: uuid.UUID | None = None

    def partition_key(self) -> str:
        return self.dead_letter_id


@register
class DeadLetterPayloadViewed(_DeadLetterAction):
    """An operator asked to see a dead letter's payload (patient data)."""

    event_type: Literal["DeadLetterPayloadViewed"] = "DeadLetterPayloadViewed"
    version: Literal[1] = 1

    why: str = Field(min_length=1, max_length=200)


@register
class DeadLetterReplayed(_DeadLetterAction):
    """A dead letter was sent again to the replay topic its consumer group reads."""

    event_type: Literal["DeadLetterReplayed"] = "DeadLetterReplayed"
    version: Literal[1] = 1

    replay_topic: str = Field(min_length=1, max_length=249)
    # True when it had been replayed before and the operator insisted (--force).
    forced: bool = False
    why: str | None = Field(default=None, max_length=200)
