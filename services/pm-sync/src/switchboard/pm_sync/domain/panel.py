"""Pure: what pm-sync's read endpoints answer, built from its read-model rows.

* the patient panel (I-PANEL-1): name, age, contacts, language, the patient's local time,
  care team and primary contact, up to five encounters (upcoming from today first, filled
  up with the most recent past ones) and the next upcoming appointment (R-LOC-1, R-PROV-1);
* patient summaries for a phone / email look-up (I-UNREC-1).

The answers' models are the internal API contract (switchboard.events.internal.pm_sync),
shared with pm-sync's callers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from switchboard.events import AppointmentChanged
from switchboard.events.internal.pm_sync import Encounter, PatientPanel, PatientSummary
from switchboard.pm_sync.domain.schedule import next_upcoming, recent_encounters

ENCOUNTER_LIMIT = 5


def age_on(birth_date: date | None, today: date) -> int | None:
    if birth_date is None:
        return None
    years = today.year - birth_date.year
    if (today.month, today.day) < (birth_date.month, birth_date.day):
        years -= 1
    return max(years, 0)


def zone(name: str | None, default: str) -> ZoneInfo:
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def effective_care_team(
    patient: Mapping[str, Any], care_teams: Sequence[Mapping[str, Any]]
) -> tuple[list[str], str | None]:
    """The patient's own care team plus the members of every active CareTeam of theirs; a
    CareTeam's primary contact takes precedence over the patient's (see events/pm_extra.py)."""
    members: dict[str, None] = dict.fromkeys(patient.get("care_team") or ())
    primary = None
    for team in sorted(care_teams, key=lambda t: str(t["care_team_id"])):
        if not team["active"]:
            continue
        members.update(dict.fromkeys(team["members"] or ()))
        if primary is None and team["primary_contact"]:
            primary = team["primary_contact"]
    primary = primary or patient.get("primary_contact")
    if primary:
        members.setdefault(primary, None)
    return list(members), primary


def summary(patient: Mapping[str, Any], now: datetime, default_tz: str) -> PatientSummary:
    today = now.astimezone(zone(patient.get("timezone"), default_tz)).date()
    return PatientSummary(
        patient_id=patient["patient_id"],
        given_name=patient["given_name"],
        family_name=patient["family_name"],
        birth_date=patient["birth_date"],
        age=age_on(patient["birth_date"], today),
        phones=list(patient["phones"] or ()),
        emails=list(patient["emails"] or ()),
        preferred_language=patient["preferred_language"],
        timezone=patient["timezone"],
    )


def encounter(
    a: AppointmentChanged, location_names: Mapping[str, str], provider_names: Mapping[str, str]
) -> Encounter:
    return Encounter(
        appointment_id=a.appointment_id,
        start=a.start,
        end=a.end,
        status=a.status,
        location_id=a.location_id,
        location_name=location_names.get(a.location_id or ""),
        provider_id=a.provider_id,
        provider_name=provider_names.get(a.provider_id or ""),
    )


def build_panel(
    patient: Mapping[str, Any],
    care_teams: Sequence[Mapping[str, Any]],
    appointments: Sequence[AppointmentChanged],
    now: datetime,
    default_tz: str,
    location_names: Mapping[str, str] | None = None,
    provider_names: Mapping[str, str] | None = None,
) -> PatientPanel:
    """I-PANEL-1. `now` must be timezone-aware; "today" is the patient's (or the default zone's)."""
    tz = zone(patient.get("timezone"), default_tz)
    local_now = now.astimezone(tz)
    mine = [a for a in appointments if a.patient_id == patient["patient_id"]]
    shown = recent_encounters(mine, local_now.date(), ENCOUNTER_LIMIT, tz=tz)
    upcoming = next_upcoming(mine, now)
    locs, provs = location_names or {}, provider_names or {}
    members, primary = effective_care_team(patient, care_teams)
    return PatientPanel(
        **summary(patient, now, default_tz).model_dump(),
        local_time=local_now,
        care_team=members,
        primary_contact=primary,
        encounters=[encounter(a, locs, provs) for a in shown],
        next_appointment=encounter(upcoming, locs, provs) if upcoming else None,
    )
