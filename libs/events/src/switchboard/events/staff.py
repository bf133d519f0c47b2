"""Staff directory facts the inbox needs from the log.

`StaffAddressesSet`: the phone numbers and email addresses that belong to one staff member
(a direct line, a personal practice address). A message written to one of them is assigned
to that person automatically (I-ASSIGN-1). The whole current set each time; an empty set
removes them.

`StaffAccessSet`: a staff member's role and security policies (T-2) from the time it was
set, so "who could see this at T" is answered with the access rules of that moment
(X-ASOF-1). The gateway publishes one whenever its configured access of a user differs from
the last one published (X-ASOF-1a).
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


@register
class StaffAccessSet(Event):
    """A staff member's role and security policies from `occurred_at` on (the whole access
    each time; X-ASOF-1a). `actor` is the admin who changed it, or "configuration" when the
    gateway found its configured access changed at start."""

    topic = Topic.CONFIG
    event_type: Literal["StaffAccessSet"] = "StaffAccessSet"
    version: Literal[1] = 1

    actor: str = Field(min_length=1, max_length=128)
    staff_id: str = Field(min_length=1, max_length=128)
    role: str = Field(min_length=1, max_length=64, examples=["staff"])
    policies: tuple[str, ...] = Field(default=(), max_length=20, examples=[["inbox.care_team"]])

    def partition_key(self) -> str:
        return f"{self.practice_id}:config"
