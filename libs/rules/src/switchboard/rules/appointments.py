"""Which version of an appointment is the newest, and which appointment is next. Pure.

The router (R-LOC-1 / R-PROV-1: the next upcoming appointment gives location and provider)
and pm-sync (I-PANEL-1: the patient panel's next appointment) must pick the same one, or
routing and the panel disagree. Appointment events may arrive twice or out of order (HL7
feeds are resent, FHIR polls overlap), so the pick must not depend on delivery order:

* newest = highest `source_version`, then latest `source_updated_at`;
* an exact tie goes to the version that ends the visit (cancelled, no-show, deleted,
  fulfilled: not active) over one that still leads to it, so a cancellation is never undone
  by a booking stamped the same instant; then to the higher event id.

Only "active or not" breaks the tie (not the finer status), because that is all the router
keeps of an appointment's status.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, TypeVar

# Appointment statuses that still lead to a visit.
ACTIVE_STATUSES = frozenset({"booked", "arrived", "checked_in"})
# Changes that end an appointment whatever status they carry.
ENDING_CHANGES = frozenset({"cancelled", "deleted", "noshow"})

VersionKey = tuple[int, datetime, int, str]


def is_active(status: str, change: str) -> bool:
    """Whether the appointment is still one the patient will attend."""
    return change not in ENDING_CHANGES and status in ACTIVE_STATUSES


def tie_rank(active: bool) -> int:
    """The exact-tie rank: a version that ends the visit (1) beats one that does not (0)."""
    return 0 if active else 1


def version_key(
    source_version: int, source_updated_at: datetime, active: bool, event_id: uuid.UUID | str
) -> VersionKey:
    """Orders versions of one appointment: the greatest key is the newest."""
    return (source_version, source_updated_at, tie_rank(active), str(event_id))


class AppointmentVersion(Protocol):
    """What the pick reads of an appointment event (AppointmentChanged has it all)."""

    @property
    def appointment_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def change(self) -> str: ...
    @property
    def source_version(self) -> int: ...
    @property
    def source_updated_at(self) -> datetime: ...
    @property
    def event_id(self) -> uuid.UUID: ...


V = TypeVar("V", bound=AppointmentVersion)


def key_of(event: AppointmentVersion) -> VersionKey:
    return version_key(
        event.source_version,
        event.source_updated_at,
        is_active(event.status, event.change),
        event.event_id,
    )


def newest_versions(events: Iterable[V]) -> dict[str, V]:
    """appointment id -> its newest version; the same in every order and with duplicates."""
    newest: dict[str, V] = {}
    for event in events:
        current = newest.get(event.appointment_id)
        if current is None or key_of(event) > key_of(current):
            newest[event.appointment_id] = event
    return newest


class Scheduled(Protocol):
    @property
    def appointment_id(self) -> str: ...
    @property
    def start(self) -> datetime: ...


S = TypeVar("S", bound=Scheduled)


def next_upcoming(appointments: Iterable[S], at: datetime) -> S | None:
    """The earliest of these (active, one version each) starting at or after `at`; equal
    starts go to the lower appointment id, so a replay picks the same one."""
    upcoming = [a for a in appointments if a.start >= at]
    return min(upcoming, key=lambda a: (a.start, a.appointment_id), default=None)
