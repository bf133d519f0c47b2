"""Staff directory facts the inbox needs from the log.

`StaffAddressesSet`: the phone numbers and email addresses that belong to one staff member
(a direct line, a personal practice address). A message written to one of them is assigned
to that person automatically (I-ASSIGN-1). The whole current set each time; an empty set
removes them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from switchboard.events.envelope import Event
from switchboard.events.registry import register
from switchboard.events.topics import Topic


@register
class StaffAddressesSet(Event):
    """The phone numbers and email addresses that belong to one staff member (the whole
    set each time; empty removes them)."""

    topic = Topic.CONFIG
    event_type: Literal["StaffAddressesSet"] = "StaffAddressesSet"
    version: Literal[1] = 1

    actor: str = Field(min_length=1, max_length=128)
    staff_id: str = Field(min_length=1, max_length=128)
    addresses: tuple[str, ...] = Field(default=(), max_length=20)

    def partition_key(self) -> str:
        return f"{self.practice_id}:config"
