"""Practice-management events: patients, appointments, locations, providers.

Every event carries the whole current state of its entity, so applying one twice or
applying an older one after a newer one can be detected by `source_updated_at`.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, Field

from switchboard.events.envelope import Event
from switchboard.events.registry import register
from switchboard.events.topics import Topic

AppointmentStatus = Literal[
    "booked", "arrived", "checked_in", "fulfilled", "cancelled", "noshow", "deleted"
]


@register
class PatientUpserted(Event):
    """A patient's demographics and contacts as the practice-management system holds them
    now. Contains patient data."""

    topic = Topic.PM
    event_type: Literal["PatientUpserted"] = "PatientUpserted"
    version: Literal[1] = 1
    phi_fields = frozenset(
        {"given_name", "family_name", "birth_date", "phones", "emails", "preferred_language"}
    )

    patient_id: str
    given_name: str = ""
    family_name: str = ""
    birth_date: date | None = None
    phones: tuple[str, ...] = ()  # E.164
    emails: tuple[str, ...] = ()
    preferred_language: str | None = None
    timezone: str | None = None
    care_team: tuple[str, ...] = ()  # staff user ids
    primary_contact: str | None = None
    source_updated_at: AwareDatetime

    def partition_key(self) -> str:
        return f"{self.practice_id}:patient:{self.patient_id}"


@register
class AppointmentChanged(Event):
    """A patient's appointment as the practice-management system holds it now (booked,
    moved, cancelled...). Names the patient (their id) and when they are seen."""

    topic = Topic.PM
    event_type: Literal["AppointmentChanged"] = "AppointmentChanged"
    version: Literal[1] = 1

    appointment_id: str
    patient_id: str
    change: Literal["booked", "rescheduled", "modified", "cancelled", "deleted", "noshow"]
    status: AppointmentStatus
    start: AwareDatetime
    end: AwareDatetime | None = None
    location_id: str | None = None
    provider_id: str | None = None
    source_updated_at: AwareDatetime
    source_version: int = Field(default=0, ge=0)

    def partition_key(self) -> str:
        # Same key as the patient: one patient's events stay in order.
        return f"{self.practice_id}:patient:{self.patient_id}"


@register
class LocationUpserted(Event):
    """A practice location (a clinic) as the practice-management system holds it now."""

    topic = Topic.PM
    event_type: Literal["LocationUpserted"] = "LocationUpserted"
    version: Literal[1] = 1

    location_id: str
    name: str
    active: bool = True
    timezone: str | None = None

    def partition_key(self) -> str:
        return f"{self.practice_id}:location:{self.location_id}"


@register
class ProviderUpserted(Event):
    """A provider (clinician) as the practice-management system holds them now."""

    topic = Topic.PM
    event_type: Literal["ProviderUpserted"] = "ProviderUpserted"
    version: Literal[1] = 1

    provider_id: str
    name: str
    active: bool = True

    def partition_key(self) -> str:
        return f"{self.practice_id}:provider:{self.provider_id}"
