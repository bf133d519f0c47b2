"""Pure: pm-sync's own `switchboard.pm` events -> rows of its read model (schema pm_sync).

A batch is first folded to the newest state per entity, with the same order the database
upserts use (see schedule.py), so applying a batch, a redelivery or an out-of-order resend
gives one row per entity, the newest:

* appointment: (source_version, source_updated_at, status rank, event id);
* patient: source_updated_at, and on a tie the later in the log (contacts.replaces, the
  rule ingest, the router and the inbox projection apply too);
* care team: (source_updated_at, event id);
* location, provider: (occurred_at, event id).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from switchboard.events import (
    AppointmentChanged,
    CareTeamUpserted,
    Event,
    LocationUpserted,
    PatientUpserted,
    ProviderUpserted,
)
from switchboard.pm_sync.domain.schedule import latest_appointments, latest_patients, status_rank

E = TypeVar("E", CareTeamUpserted, LocationUpserted, ProviderUpserted)


@dataclass
class Folded:
    """One batch, newest event per entity and practice."""

    appointments: list[AppointmentChanged] = field(default_factory=list)
    patients: list[PatientUpserted] = field(default_factory=list)
    care_teams: list[CareTeamUpserted] = field(default_factory=list)
    locations: list[LocationUpserted] = field(default_factory=list)
    providers: list[ProviderUpserted] = field(default_factory=list)
    ignored: int = 0  # events of other types


def _newest(events: Iterable[E], key: str, when: str) -> list[E]:
    newest: dict[tuple[str, str], E] = {}
    for e in events:
        ident = (e.practice_id, getattr(e, key))
        current = newest.get(ident)
        order = (getattr(e, when), str(e.event_id))
        if current is None or order > (getattr(current, when), str(current.event_id)):
            newest[ident] = e
    return list(newest.values())


def _per_practice(events: Sequence[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for e in events:
        out.setdefault(e.practice_id, []).append(e)
    return out


def fold(events: Sequence[Event]) -> Folded:
    folded = Folded()
    appts = [e for e in events if isinstance(e, AppointmentChanged)]
    pats = [e for e in events if isinstance(e, PatientUpserted)]
    for group in _per_practice(appts).values():
        folded.appointments.extend(latest_appointments(group).values())
    for group in _per_practice(pats).values():
        folded.patients.extend(latest_patients(group).values())
    folded.care_teams = _newest(
        (e for e in events if isinstance(e, CareTeamUpserted)), "care_team_id", "source_updated_at"
    )
    folded.locations = _newest(
        (e for e in events if isinstance(e, LocationUpserted)), "location_id", "occurred_at"
    )
    folded.providers = _newest(
        (e for e in events if isinstance(e, ProviderUpserted)), "provider_id", "occurred_at"
    )
    known = (AppointmentChanged, PatientUpserted, CareTeamUpserted, LocationUpserted)
    folded.ignored = sum(1 for e in events if not isinstance(e, (*known, ProviderUpserted)))
    return folded


def appointment_row(e: AppointmentChanged) -> dict[str, Any]:
    return {
        "practice_id": e.practice_id,
        "appointment_id": e.appointment_id,
        "patient_id": e.patient_id,
        "status": e.status,
        "change": e.change,
        "start_at": e.start,
        "end_at": e.end,
        "location_id": e.location_id,
        "provider_id": e.provider_id,
        "source_version": e.source_version,
        "source_updated_at": e.source_updated_at,
        "status_rank": status_rank(e),
        "event_id": e.event_id,
        "event": e.model_dump(mode="json"),
    }


def patient_row(e: PatientUpserted) -> dict[str, Any]:
    return {
        "practice_id": e.practice_id,
        "patient_id": e.patient_id,
        "given_name": e.given_name,
        "family_name": e.family_name,
        "birth_date": e.birth_date,
        "phones": list(e.phones),
        "emails": list(e.emails),
        "preferred_language": e.preferred_language,
        "timezone": e.timezone,
        "care_team": list(e.care_team),
        "primary_contact": e.primary_contact,
        "source_updated_at": e.source_updated_at,
        "event_id": e.event_id,
    }


def contact_rows(e: PatientUpserted) -> list[dict[str, Any]]:
    """The contact index entries of a patient (phones are E.164 already, emails lower case)."""
    rows = {(p, "phone"): None for p in e.phones if p} | {
        (m.lower(), "email"): None for m in e.emails if m
    }
    return [
        {"practice_id": e.practice_id, "contact": c, "patient_id": e.patient_id, "kind": kind}
        for c, kind in rows
    ]


def care_team_row(e: CareTeamUpserted) -> dict[str, Any]:
    return {
        "practice_id": e.practice_id,
        "care_team_id": e.care_team_id,
        "patient_id": e.patient_id,
        "members": list(e.members),
        "primary_contact": e.primary_contact,
        "active": e.active,
        "source_updated_at": e.source_updated_at,
        "event_id": e.event_id,
    }


def location_row(e: LocationUpserted) -> dict[str, Any]:
    return {
        "practice_id": e.practice_id,
        "location_id": e.location_id,
        "name": e.name,
        "active": e.active,
        "timezone": e.timezone,
        "updated_at": e.occurred_at,
        "event_id": e.event_id,
    }


def provider_row(e: ProviderUpserted) -> dict[str, Any]:
    return {
        "practice_id": e.practice_id,
        "provider_id": e.provider_id,
        "name": e.name,
        "active": e.active,
        "updated_at": e.occurred_at,
        "event_id": e.event_id,
    }
