"""HL7 v2 mapping (X-FHIR-1): SIU scheduling and ADT patient messages -> PM events. Pure.

* SIU^S12 new, S13 rescheduled, S14 modified, S15 cancelled, S17 deleted, S26 no-show
  -> one `AppointmentChanged`.
* ADT^A04, A08, A28, A31 -> one `PatientUpserted` (names, date of birth, phones in E.164,
  emails, preferred language, care team and primary contact from PD1-4 / ROL).
* Other SIU / ADT triggers are valid messages we do not use: accepted (AA), no events.
* Any other message type, or a broken MSH, is rejected (AR); a message whose content is
  wrong (a required field missing or unreadable) is an application error (AE). Either way
  `HL7Error` names the segment and field, e.g. "SCH-11: start time missing".

Event ids are `deterministic_id(practice_id, "hl7", control_id, idx)`: a resent message
produces the same events, which collapse downstream. Error texts never contain field
values, so they can be logged and sent back in the ACK without leaking patient data.
Reading fields and the header is hl7_message.py; the ACK is hl7_ack.py.

Times without a UTC offset are read in `default_tz` (the practice's zone).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from switchboard.events import AppointmentChanged, Event, PatientUpserted, deterministic_id
from switchboard.pm_sync.domain.hl7_message import (
    ERR_DATA_TYPE,
    ERR_UNSUPPORTED_TYPE,
    HL7Error,
    IndexedMessage,
    field_value,
    first_segment,
    hl7_datetime,
    message_time,
    parse_message,
    read_header,
    repetitions,
    segments_named,
    zone,
)
from switchboard.rules.contacts import normalize_email, normalize_phone

# trigger -> (change, status). S12/S13/S14 take the status from SCH-25 when it is a known
# filler status; the status given here is the fallback.
SIU_TRIGGERS: dict[str, tuple[str, str]] = {
    "S12": ("booked", "booked"),
    "S13": ("rescheduled", "booked"),
    "S14": ("modified", "booked"),
    "S15": ("cancelled", "cancelled"),
    "S17": ("deleted", "deleted"),
    "S26": ("noshow", "noshow"),
}
# Triggers whose status is fixed by the trigger itself, whatever SCH-25 says.
_FIXED_STATUS = frozenset({"S15", "S17", "S26"})
ADT_TRIGGERS = frozenset({"A04", "A08", "A28", "A31"})

# SCH-25 filler status (HL7 table 0278, plus common local spellings) -> our status.
FILLER_STATUS = {
    "booked": "booked",
    "overbook": "booked",
    "pending": "booked",
    "confirmed": "booked",
    "arrived": "arrived",
    "started": "checked_in",
    "checkedin": "checked_in",
    "checked-in": "checked_in",
    "checked in": "checked_in",
    "complete": "fulfilled",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "dc": "cancelled",
    "deleted": "deleted",
    "noshow": "noshow",
    "no-show": "noshow",
    "no show": "noshow",
}

# ROL-3 role codes that make the person the patient's primary contact.
PRIMARY_ROLES = frozenset({"PP", "PCP"})

# ISO 639-2 / HL7 table 0296 three-letter codes -> BCP-47 primary language subtag.
_LANGUAGES = {
    "ENG": "en", "SPA": "es", "CHI": "zh", "ZHO": "zh", "RUS": "ru", "KOR": "ko",
    "FRE": "fr", "FRA": "fr", "HAT": "ht", "ARA": "ar", "BEN": "bn", "POL": "pl",
    "ITA": "it", "YID": "yi", "HEB": "he", "URD": "ur", "HIN": "hi", "VIE": "vi",
    "POR": "pt", "GER": "de", "DEU": "de", "JPN": "ja", "TGL": "tl", "GRE": "el",
}  # fmt: skip
_LANGUAGE_NAMES = {
    "english": "en", "spanish": "es", "chinese": "zh", "mandarin": "zh", "cantonese": "zh",
    "russian": "ru", "korean": "ko", "french": "fr", "haitian creole": "ht", "arabic": "ar",
    "bengali": "bn", "polish": "pl", "italian": "it", "yiddish": "yi",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class HL7Result:
    control_id: str
    message_type: str  # "SIU"
    trigger: str  # "S12"
    events: tuple[Event, ...]
    ignored: bool = False  # a valid SIU/ADT trigger we do not use


def _clean_text(value: str) -> str:
    return " ".join(value.split())


def _language(code: str, text: str) -> str | None:
    code = code.strip()
    if len(code) == 2 and code.isalpha():
        return code.lower()
    if "-" in code and len(code.split("-")[0]) == 2:
        return code.split("-")[0].lower() + code[2:]
    if code.upper() in _LANGUAGES:
        return _LANGUAGES[code.upper()]
    if text.strip().lower() in _LANGUAGE_NAMES:
        return _LANGUAGE_NAMES[text.strip().lower()]
    return (code or text).strip() or None


def _unique(values: Sequence[str | None]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for v in values:
        if v:
            seen.setdefault(v, None)
    return tuple(seen)


# --- SIU --------------------------------------------------------------------------------------


def _duration(amount: str, units: str) -> timedelta | None:
    try:
        n = float(amount)
    except ValueError:
        return None
    if n <= 0:
        return None
    unit = units.strip().lower()
    if unit in ("h", "hr", "hrs", "hour", "hours"):
        return timedelta(hours=n)
    if unit in ("s", "sec", "second", "seconds"):
        return timedelta(seconds=n)
    return timedelta(minutes=n)  # MIN, min, m, or none given


def _resource_id(seg: Any, field: int) -> str:
    """Id of a PL (location) or XCN (person) resource: component 1, else PL-4 facility."""
    return field_value(seg, field, 1, 1) or field_value(seg, field, 1, 4)


def _active_resources(msg: Any, name: str) -> list[Any]:
    """AIL/AIP segments, minus those the message deletes (segment action code D)."""
    return [s for s in segments_named(msg, name) if field_value(s, 2).upper() != "D"]


def _patient_id(pid: Any | None, control_id: str) -> str:
    if pid is None:
        raise HL7Error("PID", 3, "patient id missing (no PID segment)", control_id=control_id)
    ids = [
        (field_value(pid, 3, r, 1), field_value(pid, 3, r, 5).upper())
        for r in range(1, repetitions(pid, 3) + 1)
    ]
    ids = [(i, kind) for i, kind in ids if i]
    if not ids:
        raise HL7Error("PID", 3, "patient id missing", control_id=control_id)
    for value, kind in ids:
        if kind == "MR":
            return value
    return ids[0][0]


def _siu(
    msg: Any, msh: Any, control_id: str, trigger: str, practice_id: str, tz: tzinfo
) -> AppointmentChanged:
    sch = first_segment(msg, "SCH")
    if sch is None:
        raise HL7Error("SCH", None, "segment missing", control_id=control_id)
    appointment_id = field_value(sch, 2, 1, 1) or field_value(sch, 1, 1, 1)
    if not appointment_id:
        raise HL7Error("SCH", 2, "appointment id missing (SCH-2 or SCH-1)", control_id=control_id)
    patient_id = _patient_id(first_segment(msg, "PID"), control_id)

    ails = _active_resources(msg, "AIL")
    aips = _active_resources(msg, "AIP")
    tq1 = first_segment(msg, "TQ1")
    candidates = [("SCH", 11, field_value(sch, 11, 1, 4))]
    if tq1 is not None:
        candidates.append(("TQ1", 7, field_value(tq1, 7)))
    candidates += [("AIL", 6, field_value(s, 6)) for s in ails]
    candidates += [("AIP", 6, field_value(s, 6)) for s in aips]
    candidates += [("AIS", 4, field_value(s, 4)) for s in segments_named(msg, "AIS")]
    found = next(((seg, f, v) for seg, f, v in candidates if v), None)
    if found is None:
        raise HL7Error("SCH", 11, "start time missing", control_id=control_id)
    start_raw, start_at = found[2], found[:2]
    start = hl7_datetime(start_raw, *start_at, tz, "start time", control_id)

    end: datetime | None = None
    end_raw, end_at = field_value(sch, 11, 1, 5), ("SCH", 11)
    if not end_raw and tq1 is not None:
        end_raw, end_at = field_value(tq1, 8), ("TQ1", 8)
    if end_raw:
        end = hl7_datetime(end_raw, *end_at, tz, "end time", control_id)
    else:
        length = _duration(field_value(sch, 9), field_value(sch, 10, 1, 1))
        end = start + length if length else None
    if end is not None and end < start:
        raise HL7Error(
            "SCH", 11, "end time before start time", err_code=ERR_DATA_TYPE, control_id=control_id
        )

    change, default_status = SIU_TRIGGERS[trigger]
    status = default_status
    if trigger not in _FIXED_STATUS:
        filler = field_value(sch, 25, 1, 1) or field_value(sch, 25, 1, 2)
        status = FILLER_STATUS.get(filler.strip().lower(), default_status)

    pv1 = first_segment(msg, "PV1")
    location_id = next((i for s in ails if (i := _resource_id(s, 3))), None)
    if location_id is None and pv1 is not None:
        location_id = _resource_id(pv1, 3) or None
    provider_id = next((i for s in aips if (i := field_value(s, 3, 1, 1))), None)
    if provider_id is None and pv1 is not None:
        provider_id = field_value(pv1, 7, 1, 1) or None

    msg_time = message_time(msh, tz, control_id)
    return AppointmentChanged(
        event_id=deterministic_id(practice_id, "hl7", control_id, "0"),
        occurred_at=msg_time,
        practice_id=practice_id,
        correlation_id=deterministic_id(practice_id, "hl7", control_id),
        appointment_id=appointment_id,
        patient_id=patient_id,
        change=change,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        start=start,
        end=end,
        location_id=location_id,
        provider_id=provider_id,
        source_updated_at=msg_time,
        source_version=0,
    )


# --- ADT --------------------------------------------------------------------------------------


def _name(pid: Any) -> tuple[str, str]:
    chosen = 1
    for r in range(1, repetitions(pid, 5) + 1):
        if field_value(pid, 5, r, 7).upper() == "L":
            chosen = r
            break
    family = _clean_text(field_value(pid, 5, chosen, 1, 1))
    given = _clean_text(field_value(pid, 5, chosen, 2))
    return given, family


def _telecoms(pid: Any, fields: Sequence[int]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    phones: list[str | None] = []
    emails: list[str | None] = []
    for field in fields:
        for r in range(1, repetitions(pid, field) + 1):
            use = field_value(pid, field, r, 2).upper()
            kind = field_value(pid, field, r, 3).upper()
            address = field_value(pid, field, r, 4)
            if use == "NET" or kind in ("INTERNET", "X.400") or "@" in address:
                emails.append(normalize_email(address or field_value(pid, field, r, 1)))
                continue
            if kind == "FX" or use == "BPN":  # fax, beeper: not a way a patient messages in
                continue
            raw = field_value(pid, field, r, 12) or field_value(pid, field, r, 1)
            if not raw:
                country, area, local = (field_value(pid, field, r, c) for c in (5, 6, 7))
                raw = f"+{country or '1'}{area}{local}" if area and local else ""
            phones.append(normalize_phone(raw))
    return _unique(phones), _unique(emails)


def _care_team(msg: Any) -> tuple[tuple[str, ...], str | None]:
    members: list[str | None] = []
    primary: str | None = None
    for rol in segments_named(msg, "ROL"):
        if field_value(rol, 2).upper() == "DE":  # action code: delete
            continue
        role = field_value(rol, 3, 1, 1).upper()
        for r in range(1, repetitions(rol, 4) + 1):
            person = field_value(rol, 4, r, 1)
            if not person:
                continue
            members.append(person)
            if primary is None and role in PRIMARY_ROLES:
                primary = person
    pd1 = first_segment(msg, "PD1")
    if pd1 is not None:
        pcps = [field_value(pd1, 4, r, 1) for r in range(1, repetitions(pd1, 4) + 1)]
        pcps = [p for p in pcps if p]
        members.extend(pcps)
        if primary is None and pcps:
            primary = pcps[0]
    return _unique(members), primary


def _adt(msg: Any, msh: Any, control_id: str, practice_id: str, tz: tzinfo) -> PatientUpserted:
    pid = first_segment(msg, "PID")
    patient_id = _patient_id(pid, control_id)
    given, family = _name(pid)
    if not given and not family:
        raise HL7Error("PID", 5, "patient name missing", control_id=control_id)

    birth_date: date | None = None
    dob = field_value(pid, 7, 1, 1)
    if dob:
        birth_date = hl7_datetime(dob[:8], "PID", 7, tz, "date of birth", control_id).date()

    phones, emails = _telecoms(pid, (13, 14))
    language = _language(field_value(pid, 15, 1, 1), field_value(pid, 15, 1, 2))
    care_team, primary = _care_team(msg)

    msg_time = message_time(msh, tz, control_id)
    evn = first_segment(msg, "EVN")
    updated_at = msg_time
    if evn is not None and field_value(evn, 2, 1, 1):
        updated_at = hl7_datetime(
            field_value(evn, 2, 1, 1), "EVN", 2, tz, "recorded date/time", control_id
        )
    return PatientUpserted(
        event_id=deterministic_id(practice_id, "hl7", control_id, "0"),
        occurred_at=msg_time,
        practice_id=practice_id,
        correlation_id=deterministic_id(practice_id, "hl7", control_id),
        patient_id=patient_id,
        given_name=given,
        family_name=family,
        birth_date=birth_date,
        phones=phones,
        emails=emails,
        preferred_language=language,
        care_team=care_team,
        primary_contact=primary,
        source_updated_at=updated_at,
    )


# --- public API -------------------------------------------------------------------------------


def parse_hl7(
    text: str | bytes, practice_id: str, *, default_tz: tzinfo | str = "UTC"
) -> HL7Result:
    """One HL7 v2 message -> events. Raises HL7Error naming segment and field."""
    msg = IndexedMessage(parse_message(text))
    msh, control_id, message_type, trigger = read_header(msg)
    tz = zone(default_tz)
    if message_type == "SIU":
        if trigger not in SIU_TRIGGERS:
            return HL7Result(control_id, message_type, trigger, (), ignored=True)
        event: Event = _siu(msg, msh, control_id, trigger, practice_id, tz)
    elif message_type == "ADT":
        if trigger not in ADT_TRIGGERS:
            return HL7Result(control_id, message_type, trigger, (), ignored=True)
        event = _adt(msg, msh, control_id, practice_id, tz)
    else:
        raise HL7Error(
            "MSH",
            9,
            "unsupported message type (SIU and ADT accepted)",
            code="AR",
            err_code=ERR_UNSUPPORTED_TYPE,
            control_id=control_id,
        )
    return HL7Result(control_id, message_type, trigger, (event,))


Parsed = HL7Result | HL7Error


def parse_many(texts: Sequence[str], practice_id: str, default_tz: tzinfo | str) -> list[Parsed]:
    """`parse_hl7` of each message; an HL7Error is returned in its place, not raised.
    Top-level and picklable, so it can run in a worker process."""
    out: list[Parsed] = []
    for text in texts:
        try:
            out.append(parse_hl7(text, practice_id, default_tz=default_tz))
        except HL7Error as err:
            out.append(err)
    return out
