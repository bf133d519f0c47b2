"""Pure schedule and contact queries over practice-management events.

Appointment events may arrive twice or out of order (HL7 feeds are resent, FHIR polls
overlap). Everything here first folds them to the newest state per appointment id, by the
rule the router applies too (switchboard.rules.appointments), so the answers do not depend on
the order or the number of deliveries and routing and the patient panel agree.

Used by R-LOC-1 / R-PROV-1 (next upcoming appointment gives location and provider),
I-PANEL-1 (up to five encounters) and I-UNREC-1 (which patients a sender could be).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

from switchboard.events import AppointmentChanged, PatientUpserted
from switchboard.rules import appointments as rule
from switchboard.rules.contacts import normalize_email, normalize_phone, replaces

# States that count as an encounter in the patient panel (past or upcoming).
ENCOUNTER_STATUSES = frozenset({"booked", "arrived", "checked_in", "fulfilled"})


# --- newest state -----------------------------------------------------------------------------


def status_rank(a: AppointmentChanged) -> int:
    """The exact-tie rank pm-sync stores beside an appointment (the shared rule's)."""
    return rule.tie_rank(rule.is_active(a.status, a.change))


def latest_appointments(
    appointments: Iterable[AppointmentChanged],
) -> dict[str, AppointmentChanged]:
    """appointment id -> its newest event (idempotent, out-of-order safe)."""
    return rule.newest_versions(appointments)


def latest_patients(patients: Iterable[PatientUpserted]) -> dict[str, PatientUpserted]:
    """patient id -> its newest upsert, `patients` in log order (contacts.replaces: the
    latest `source_updated_at`, and on a tie the later in the log)."""
    newest: dict[str, PatientUpserted] = {}
    for patient in patients:
        current = newest.get(patient.patient_id)
        known = current.source_updated_at if current is not None else None
        if replaces(known, patient.source_updated_at):
            newest[patient.patient_id] = patient
    return newest


def _for_patient(
    appointments: Iterable[AppointmentChanged], patient_id: str | None
) -> list[AppointmentChanged]:
    folded = latest_appointments(appointments).values()
    if patient_id is None:
        return list(folded)
    return [a for a in folded if a.patient_id == patient_id]


# --- queries ----------------------------------------------------------------------------------


def next_upcoming(
    appointments: Iterable[AppointmentChanged],
    now: datetime,
    *,
    patient_id: str | None = None,
) -> AppointmentChanged | None:
    """The soonest appointment (booked / arrived / checked in) starting at or after `now`.

    Cancelled, no-show, deleted, fulfilled and past appointments never qualify. Pass the
    events of one patient, or all events and `patient_id`. `now` must be timezone-aware.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    active = [
        a for a in _for_patient(appointments, patient_id) if rule.is_active(a.status, a.change)
    ]
    return rule.next_upcoming(active, now)


def _local_date(moment: datetime, tz: tzinfo | None) -> date:
    return (moment.astimezone(tz) if tz is not None else moment).date()


def recent_encounters(
    appointments: Iterable[AppointmentChanged],
    today: date,
    limit: int = 5,
    *,
    patient_id: str | None = None,
    tz: tzinfo | str | None = None,
) -> list[AppointmentChanged]:
    """I-PANEL-1: up to `limit` encounters, upcoming ones from `today` first (soonest first),
    filled up with the most recent past ones (latest first).

    Cancelled, no-show and deleted appointments are not encounters. A start's calendar date
    is taken in `tz` (the practice zone) or, when None, in the offset the start carries.
    """
    if limit <= 0:
        return []
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    visits = [a for a in _for_patient(appointments, patient_id) if a.status in ENCOUNTER_STATUSES]
    upcoming = sorted(
        (a for a in visits if _local_date(a.start, zone) >= today),
        key=lambda a: (a.start, a.appointment_id),
    )
    past = sorted(
        (a for a in visits if _local_date(a.start, zone) < today),
        key=lambda a: (a.start, a.appointment_id),
        reverse=True,
    )
    return (upcoming + past)[:limit]


def patients_by_contact(
    patients: Iterable[PatientUpserted], phone_or_email: str, region: str = "US"
) -> list[PatientUpserted]:
    """I-UNREC-1: every patient (newest upsert each) whose phones or emails match.

    An address with "@" is compared as an email, anything else as a phone number in E.164
    (`region` is the default country for numbers written without one). A family phone
    shared by several patients gives all of them, sorted by patient id. No match -> [].
    """
    latest = latest_patients(patients)
    if "@" in phone_or_email:
        email = normalize_email(phone_or_email)
        if email is None:
            return []
        hits = [p for p in latest.values() if email in {e.lower() for e in p.emails}]
    else:
        phone = normalize_phone(phone_or_email, region)
        if phone is None:
            return []
        hits = [p for p in latest.values() if phone in p.phones]
    return sorted(hits, key=lambda p: p.patient_id)
