"""Pure: pm-sync's internal API.

GET  /internal/practices/{practice}/patients/{patient_id}   PatientPanel (I-PANEL-1)
GET  /internal/practices/{practice}/patients?phone=|email=  PatientMatches (I-UNREC-1)
GET  /internal/practices/{practice}/locations | /providers  list[Place]
POST /internal/practices/{practice}/sync                    SyncCounts
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from switchboard.events.internal.common import Place

__all__ = ["Encounter", "PatientMatches", "PatientPanel", "PatientSummary", "Place", "SyncCounts"]


class Encounter(BaseModel):
    appointment_id: str
    start: datetime
    end: datetime | None
    status: str
    location_id: str | None
    location_name: str | None
    provider_id: str | None
    provider_name: str | None


class PatientSummary(BaseModel):
    patient_id: str
    given_name: str
    family_name: str
    birth_date: date | None
    age: int | None
    phones: list[str]
    emails: list[str]
    preferred_language: str | None
    timezone: str | None


class PatientPanel(PatientSummary):
    local_time: datetime
    care_team: list[str]
    primary_contact: str | None
    encounters: list[Encounter]
    next_appointment: Encounter | None


class PatientMatches(BaseModel):
    practice_id: str
    patients: list[PatientSummary]


class SyncCounts(BaseModel):
    """What "Sync with EHR" pulled from the practice's FHIR server (counts of what it
    returned)."""

    practice_id: str
    locations: int
    providers: int
    invalid: int
    pages: int
