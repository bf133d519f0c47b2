"""Staff access over time (X-ASOF-1). Pure: no I/O.

Rules (sub-ids of X-ASOF-1):

- X-ASOF-1a  A staff member's role and security policies are events on the log
  (`StaffAccessSet`), kept with their times. The gateway publishes one for each user whose
  configured access differs from the last one published (at start, and when an admin
  changes it). Its id derives from the access and the id of the one it follows, so a retry
  or a second gateway collapses into one, while going back to an earlier access is a new
  event.
- X-ASOF-1b  "Who could see this view at T" uses each person's role and policies as of T
  (and their shared-inbox subscriptions and the view's membership as of T). Before the
  first recorded access of a person, their first recorded one stands (history began then);
  a person with no record at all counts with today's.
- X-ASOF-1c  The inbox as-of view applies the viewer's access as of T: a viewer who may read
  the view today must also have been able to read it at T, unless they audit (practice
  admins, inbox.full_patient, inbox.api). Staff who gained a view later do not read back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from switchboard.events import deterministic_id
from switchboard.gateway.auth import Principal

CONFIGURATION = "configuration"  # the actor of an access found changed in configuration


@dataclass(frozen=True)
class AccessRecord:
    """One interval of a staff member's access (valid_to None: still so)."""

    staff_id: str
    role: str
    policies: frozenset[str]
    event_id: uuid.UUID
    valid_from: datetime
    valid_to: datetime | None = None


def _covers(r: AccessRecord, at: datetime) -> bool:
    return r.valid_from <= at and (r.valid_to is None or at < r.valid_to)


def access_at(staff_id: str, records: Iterable[AccessRecord], at: datetime) -> AccessRecord | None:
    """The access `staff_id` had at `at`: the interval covering it, else (before history
    began for them) their first one; None without any record (X-ASOF-1b)."""
    mine = sorted((r for r in records if r.staff_id == staff_id), key=lambda r: r.valid_from)
    for r in mine:
        if _covers(r, at):
            return r
    if mine and at < mine[0].valid_from:
        return mine[0]
    return mine[-1] if mine else None


def principal_at(today: Principal, records: Iterable[AccessRecord], at: datetime) -> Principal:
    """`today` with the role and policies they had at `at` (X-ASOF-1b)."""
    found = access_at(today.user_id, records, at)
    if found is None:
        return today
    return Principal(today.user_id, today.practice_id, found.role, found.policies)


def principals_at(
    today: Iterable[Principal], records: Iterable[AccessRecord], at: datetime
) -> list[Principal]:
    """Every staff member of `today` as they were at `at` (X-ASOF-1b)."""
    history = list(records)
    return [principal_at(p, history, at) for p in today]


def audits(p: Principal) -> bool:
    """Reads any view as it stood at any time (X-ASOF-1c)."""
    return p.is_admin or bool({"inbox.full_patient", "inbox.api"} & p.policies)


def access_event_id(
    practice_id: str, staff_id: str, role: str, policies: Iterable[str], follows: uuid.UUID | None
) -> uuid.UUID:
    """The id of a StaffAccessSet (X-ASOF-1a): the same access after the same event is the
    same event."""
    return deterministic_id(
        practice_id, "staff-access", staff_id, role, ",".join(sorted(policies)), str(follows)
    )


@dataclass(frozen=True)
class AccessChange:
    """An access to publish: who, what, and the event it follows (None: the first)."""

    principal: Principal
    follows: uuid.UUID | None

    @property
    def event_id(self) -> uuid.UUID:
        p = self.principal
        return access_event_id(p.practice_id, p.user_id, p.role, p.policies, self.follows)


def changes(
    configured: Iterable[Principal], published: Mapping[tuple[str, str], AccessRecord]
) -> list[AccessChange]:
    """The configured accesses that differ from the last published one of each user
    (`published` by (practice, staff)), in user order (X-ASOF-1a)."""
    out = []
    for p in sorted(configured, key=lambda x: (x.practice_id, x.user_id)):
        last = published.get((p.practice_id, p.user_id))
        if last is None or (last.role, last.policies) != (p.role, p.policies):
            out.append(AccessChange(p, last.event_id if last else None))
    return out
