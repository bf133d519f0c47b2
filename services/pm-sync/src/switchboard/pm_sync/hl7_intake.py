"""HL7 v2 intake (X-FHIR-1): SIU scheduling and ADT patient messages -> PM events. Pure.

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

Times without a UTC offset are read in `default_tz` (the practice's zone).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

import hl7
from hl7.datatypes import parse_datetime

from switchboard.events import AppointmentChanged, Event, PatientUpserted, deterministic_id
from switchboard.rules.contacts import normalize_email, normalize_phone

AckCode = Literal["AA", "AE", "AR"]

# HL7 table 0357 (message error condition codes) used in ERR segments.
ERR_SEGMENT_SEQUENCE = 100
ERR_REQUIRED_MISSING = 101
ERR_DATA_TYPE = 102
ERR_TABLE_VALUE = 103
ERR_UNSUPPORTED_TYPE = 200
ERR_UNSUPPORTED_VERSION = 203
ERR_INTERNAL = 207
_ERR_TEXT = {
    ERR_SEGMENT_SEQUENCE: "Segment sequence error",
    ERR_REQUIRED_MISSING: "Required field missing",
    ERR_DATA_TYPE: "Data type error",
    ERR_TABLE_VALUE: "Table value not found",
    ERR_UNSUPPORTED_TYPE: "Unsupported message type",
    ERR_UNSUPPORTED_VERSION: "Unsupported version id",
    ERR_INTERNAL: "Application internal error",
}

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


class HL7Error(ValueError):
    """A message we cannot take. `str(err)` is e.g. "SCH-11: start time missing".

    `code` is the ACK code to answer with: AR (rejected: not a message we accept, broken
    header) or AE (application error: the content is wrong). `err_code` is from HL7 table
    0357. The text never carries a field's value.
    """

    def __init__(
        self,
        segment: str,
        field: int | None,
        reason: str,
        *,
        code: Literal["AE", "AR"] = "AE",
        err_code: int = ERR_REQUIRED_MISSING,
        control_id: str | None = None,
    ) -> None:
        self.segment = segment
        self.field = field
        self.reason = reason
        self.code = code
        self.err_code = err_code
        self.control_id = control_id
        super().__init__(f"{self.location}: {reason}")

    @property
    def location(self) -> str:
        return self.segment if self.field is None else f"{self.segment}-{self.field}"

    def __reduce__(self) -> Any:  # picklable, so a worker process can parse
        return (
            _hl7_error,
            (self.segment, self.field, self.reason, self.code, self.err_code, self.control_id),
        )


def _hl7_error(
    segment: str,
    field: int | None,
    reason: str,
    code: Literal["AE", "AR"],
    err_code: int,
    control_id: str | None,
) -> HL7Error:
    return HL7Error(segment, field, reason, code=code, err_code=err_code, control_id=control_id)


@dataclass(frozen=True, slots=True)
class HL7Result:
    control_id: str
    message_type: str  # "SIU"
    trigger: str  # "S12"
    events: tuple[Event, ...]
    ignored: bool = False  # a valid SIU/ADT trigger we do not use


# --- field access -----------------------------------------------------------------------------


def _field_count(seg: Any) -> int:
    return len(seg) - 1


def _reps(seg: Any, field: int) -> int:
    if field > _field_count(seg):
        return 0
    return len(seg[field])


def _get(seg: Any, field: int, rep: int = 1, comp: int = 1, sub: int = 1) -> str:
    """One value, unescaped and stripped; "" when absent (never raises)."""
    if seg is None or field > _field_count(seg):
        return ""
    try:
        if rep > max(_reps(seg, field), 1):
            return ""
        value = seg.extract_field(1, field, rep, comp, sub)
    except (IndexError, KeyError, TypeError):
        return ""
    return str(value).strip()


class _Indexed:
    """A parsed message with its segments indexed by name (one pass instead of one per look-up)."""

    def __init__(self, msg: Any) -> None:
        self.by_name: dict[str, list[Any]] = {}
        for seg in msg:
            self.by_name.setdefault(str(seg[0]), []).append(seg)

    def segments(self, name: str) -> list[Any]:
        found = self.by_name.get(name)
        if not found:
            raise KeyError(name)
        return found

    def segment(self, name: str) -> Any:
        return self.segments(name)[0]


def _segments(msg: Any, name: str) -> list[Any]:
    try:
        return list(msg.segments(name))
    except KeyError:
        return []


def _first(msg: Any, name: str) -> Any | None:
    found = _segments(msg, name)
    return found[0] if found else None


# --- values -----------------------------------------------------------------------------------


# HL7 DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ] (the library's own check is lenient)
_DTM = re.compile(
    r"\d{4}(?:\d{2}(?:\d{2}(?:\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,4})?)?)?)?)?)?(?:[+-]\d{4})?"
)


def _zone(default_tz: tzinfo | str) -> tzinfo:
    return ZoneInfo(default_tz) if isinstance(default_tz, str) else default_tz


def _datetime(
    raw: str, segment: str, field: int, tz: tzinfo, what: str, control_id: str | None
) -> datetime:
    try:
        value = parse_datetime(raw) if _DTM.fullmatch(raw) else None
    except (ValueError, TypeError, OverflowError):
        value = None
    if value is None:
        raise HL7Error(
            segment,
            field,
            f"{what} is not a valid date/time",
            err_code=ERR_DATA_TYPE,
            control_id=control_id,
        )
    offset = value.utcoffset()
    if offset is None:
        return value.replace(tzinfo=tz)
    return value.replace(tzinfo=timezone(offset))


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


# --- MSH --------------------------------------------------------------------------------------


def _normalise(raw: str | bytes) -> str:
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    else:
        text = raw
    text = text.strip("\x0b\x1c\r\n \t")
    return text.replace("\r\n", "\r").replace("\n", "\r")


# Segments this module reads; the others (NTE, OBX, IN1, GT1, Z-segments...) are dropped
# before parsing, which is most of the parse cost for real-world messages.
USED_SEGMENTS = frozenset(
    {"MSH", "EVN", "PID", "PD1", "ROL", "PV1", "SCH", "TQ1", "AIS", "AIL", "AIP"}
)


def parse_message(text: str | bytes, *, only_used: bool = True) -> Any:
    """The python-hl7 Message, or HL7Error(AR) when it is not an HL7 v2 message at all.
    With `only_used`, segments this module never reads are left out."""
    text = _normalise(text)
    if not text.startswith("MSH") or len(text) < 8:
        raise HL7Error(
            "MSH",
            None,
            "not an HL7 v2 message (no MSH segment)",
            code="AR",
            err_code=ERR_SEGMENT_SEQUENCE,
        )
    if only_used:
        text = "\r".join(s for s in text.split("\r") if s[:3] in USED_SEGMENTS)
    try:
        msg = hl7.parse(text)
    except Exception as exc:  # the library raises assorted errors on junk
        raise HL7Error(
            "MSH",
            None,
            f"message cannot be parsed ({type(exc).__name__})",
            code="AR",
            err_code=ERR_SEGMENT_SEQUENCE,
        ) from None
    return msg


def _header(msg: Any) -> tuple[Any, str, str, str]:
    msh = msg.segment("MSH")
    control_id = _get(msh, 10)
    if not control_id:
        raise HL7Error("MSH", 10, "message control id missing", code="AR")
    message_type = _get(msh, 9, 1, 1).upper()
    trigger = _get(msh, 9, 1, 2).upper()
    if not message_type or not trigger:
        raise HL7Error("MSH", 9, "message type missing", code="AR", control_id=control_id)
    version = _get(msh, 12, 1, 1)
    if version and not version.startswith("2."):
        raise HL7Error(
            "MSH",
            12,
            "unsupported HL7 version (2.x expected)",
            code="AR",
            err_code=ERR_UNSUPPORTED_VERSION,
            control_id=control_id,
        )
    return msh, control_id, message_type, trigger


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
    return _get(seg, field, 1, 1) or _get(seg, field, 1, 4)


def _active_resources(msg: Any, name: str) -> list[Any]:
    """AIL/AIP segments, minus those the message deletes (segment action code D)."""
    return [s for s in _segments(msg, name) if _get(s, 2).upper() != "D"]


def _patient_id(pid: Any | None, control_id: str) -> str:
    if pid is None:
        raise HL7Error("PID", 3, "patient id missing (no PID segment)", control_id=control_id)
    ids = [(_get(pid, 3, r, 1), _get(pid, 3, r, 5).upper()) for r in range(1, _reps(pid, 3) + 1)]
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
    sch = _first(msg, "SCH")
    if sch is None:
        raise HL7Error("SCH", None, "segment missing", control_id=control_id)
    appointment_id = _get(sch, 2, 1, 1) or _get(sch, 1, 1, 1)
    if not appointment_id:
        raise HL7Error("SCH", 2, "appointment id missing (SCH-2 or SCH-1)", control_id=control_id)
    patient_id = _patient_id(_first(msg, "PID"), control_id)

    ails = _active_resources(msg, "AIL")
    aips = _active_resources(msg, "AIP")
    tq1 = _first(msg, "TQ1")
    candidates = [("SCH", 11, _get(sch, 11, 1, 4))]
    if tq1 is not None:
        candidates.append(("TQ1", 7, _get(tq1, 7)))
    candidates += [("AIL", 6, _get(s, 6)) for s in ails]
    candidates += [("AIP", 6, _get(s, 6)) for s in aips]
    candidates += [("AIS", 4, _get(s, 4)) for s in _segments(msg, "AIS")]
    found = next(((seg, f, v) for seg, f, v in candidates if v), None)
    if found is None:
        raise HL7Error("SCH", 11, "start time missing", control_id=control_id)
    start_raw, start_at = found[2], found[:2]
    start = _datetime(start_raw, *start_at, tz, "start time", control_id)

    end: datetime | None = None
    end_raw, end_at = _get(sch, 11, 1, 5), ("SCH", 11)
    if not end_raw and tq1 is not None:
        end_raw, end_at = _get(tq1, 8), ("TQ1", 8)
    if end_raw:
        end = _datetime(end_raw, *end_at, tz, "end time", control_id)
    else:
        length = _duration(_get(sch, 9), _get(sch, 10, 1, 1))
        end = start + length if length else None
    if end is not None and end < start:
        raise HL7Error(
            "SCH", 11, "end time before start time", err_code=ERR_DATA_TYPE, control_id=control_id
        )

    change, default_status = SIU_TRIGGERS[trigger]
    status = default_status
    if trigger not in _FIXED_STATUS:
        filler = _get(sch, 25, 1, 1) or _get(sch, 25, 1, 2)
        status = FILLER_STATUS.get(filler.strip().lower(), default_status)

    pv1 = _first(msg, "PV1")
    location_id = next((i for s in ails if (i := _resource_id(s, 3))), None)
    if location_id is None and pv1 is not None:
        location_id = _resource_id(pv1, 3) or None
    provider_id = next((i for s in aips if (i := _get(s, 3, 1, 1))), None)
    if provider_id is None and pv1 is not None:
        provider_id = _get(pv1, 7, 1, 1) or None

    msg_time = _message_time(msh, tz, control_id)
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


def _message_time(msh: Any, tz: tzinfo, control_id: str) -> datetime:
    raw = _get(msh, 7, 1, 1)
    if not raw:
        raise HL7Error("MSH", 7, "message date/time missing", code="AR", control_id=control_id)
    try:
        return _datetime(raw, "MSH", 7, tz, "message date/time", control_id)
    except HL7Error as exc:
        exc.code = "AR"
        raise


# --- ADT --------------------------------------------------------------------------------------


def _name(pid: Any) -> tuple[str, str]:
    chosen = 1
    for r in range(1, _reps(pid, 5) + 1):
        if _get(pid, 5, r, 7).upper() == "L":
            chosen = r
            break
    family = _clean_text(_get(pid, 5, chosen, 1, 1))
    given = _clean_text(_get(pid, 5, chosen, 2))
    return given, family


def _telecoms(pid: Any, fields: Sequence[int]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    phones: list[str | None] = []
    emails: list[str | None] = []
    for field in fields:
        for r in range(1, _reps(pid, field) + 1):
            use = _get(pid, field, r, 2).upper()
            kind = _get(pid, field, r, 3).upper()
            address = _get(pid, field, r, 4)
            if use == "NET" or kind in ("INTERNET", "X.400") or "@" in address:
                emails.append(normalize_email(address or _get(pid, field, r, 1)))
                continue
            if kind == "FX" or use == "BPN":  # fax, beeper: not a way a patient messages in
                continue
            raw = _get(pid, field, r, 12) or _get(pid, field, r, 1)
            if not raw:
                country, area, local = (_get(pid, field, r, c) for c in (5, 6, 7))
                raw = f"+{country or '1'}{area}{local}" if area and local else ""
            phones.append(normalize_phone(raw))
    return _unique(phones), _unique(emails)


def _care_team(msg: Any) -> tuple[tuple[str, ...], str | None]:
    members: list[str | None] = []
    primary: str | None = None
    for rol in _segments(msg, "ROL"):
        if _get(rol, 2).upper() == "DE":  # action code: delete
            continue
        role = _get(rol, 3, 1, 1).upper()
        for r in range(1, _reps(rol, 4) + 1):
            person = _get(rol, 4, r, 1)
            if not person:
                continue
            members.append(person)
            if primary is None and role in PRIMARY_ROLES:
                primary = person
    pd1 = _first(msg, "PD1")
    if pd1 is not None:
        pcps = [_get(pd1, 4, r, 1) for r in range(1, _reps(pd1, 4) + 1)]
        pcps = [p for p in pcps if p]
        members.extend(pcps)
        if primary is None and pcps:
            primary = pcps[0]
    return _unique(members), primary


def _adt(msg: Any, msh: Any, control_id: str, practice_id: str, tz: tzinfo) -> PatientUpserted:
    pid = _first(msg, "PID")
    patient_id = _patient_id(pid, control_id)
    given, family = _name(pid)
    if not given and not family:
        raise HL7Error("PID", 5, "patient name missing", control_id=control_id)

    birth_date: date | None = None
    dob = _get(pid, 7, 1, 1)
    if dob:
        birth_date = _datetime(dob[:8], "PID", 7, tz, "date of birth", control_id).date()

    phones, emails = _telecoms(pid, (13, 14))
    language = _language(_get(pid, 15, 1, 1), _get(pid, 15, 1, 2))
    care_team, primary = _care_team(msg)

    msg_time = _message_time(msh, tz, control_id)
    evn = _first(msg, "EVN")
    updated_at = msg_time
    if evn is not None and _get(evn, 2, 1, 1):
        updated_at = _datetime(_get(evn, 2, 1, 1), "EVN", 2, tz, "recorded date/time", control_id)
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
    msg = _Indexed(parse_message(text))
    msh, control_id, message_type, trigger = _header(msg)
    tz = _zone(default_tz)
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


def _escape(text: str) -> str:
    text = " ".join(text.replace("\r", " ").replace("\n", " ").split())
    out = text.replace("\\", "\\E\\")
    for char, esc in (("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\")):
        out = out.replace(char, esc)
    return out


def _lenient_msh(message: Any) -> list[str]:
    """MSH fields 0..12 of whatever we were given, "" where unknown. Never raises."""
    fields = [""] * 13
    if isinstance(message, str | bytes):
        text = _normalise(message)
        first = text.split("\r", 1)[0]
        if first.startswith("MSH") and len(first) > 3:
            sep = first[3]
            parts = first.split(sep)
            # parts[0] = "MSH", parts[1] = encoding characters = MSH-2; MSH-1 is the separator
            for i, value in enumerate(parts[1:12], start=2):
                fields[i] = value
        return fields
    try:
        msh = message.segment("MSH")
        for i in range(3, 13):
            fields[i] = str(msh[i]) if i <= _field_count(msh) else ""
    except Exception:  # noqa: S110 - best effort for an ACK
        pass
    return fields


def ack(
    message: str | bytes | Any,
    code: AckCode = "AA",
    text: str = "",
    *,
    error: HL7Error | None = None,
    sending_application: str = "SWITCHBOARD",
    sending_facility: str = "",
    now: datetime | None = None,
    ack_control_id: str | None = None,
) -> str:
    """The ACK for `message` (raw text or a parsed hl7 Message), as HL7 text ("\\r" between
    segments). MSA carries the original control id and `text`; when rejecting (AE/AR) with
    an `error`, an ERR segment names the segment and field. Works even for unparseable input
    (MSA-2 is then empty)."""
    f = _lenient_msh(message)
    trigger = f[9].split("^")[1] if len(f[9].split("^")) > 1 else ""
    control_id = f[10].split("^")[0]
    version = f[12].split("^")[0] or "2.5.1"
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S%z")
    ack_id = ack_control_id or uuid.uuid4().hex[:20]
    msh = "|".join(
        [
            "MSH",
            "^~\\&",
            _escape(sending_application),
            _escape(sending_facility or f[6]),
            f[3],
            f[4],
            stamp,
            "",
            f"ACK^{trigger}^ACK" if trigger else "ACK",
            ack_id,
            f[11] or "P",
            version,
        ]
    )
    if error is not None and not text:
        text = str(error)
    segments = [msh, "|".join(["MSA", code, _escape(control_id), _escape(text)])]
    if error is not None and code != "AA":
        position = "" if error.field is None else str(error.field)
        err_text = _ERR_TEXT.get(error.err_code, "Error")
        segments.append(
            "|".join(
                [
                    "ERR",
                    f"{error.segment}^1^{position}^{error.err_code}&{err_text}&HL70357",
                    f"{error.segment}^1^{position}",
                    f"{error.err_code}^{err_text}^HL70357",
                    "E",
                    "",
                    "",
                    "",
                    _escape(str(error)),
                ]
            )
        )
    return "\r".join(segments) + "\r"


Publish = Callable[[Sequence[Event]], Awaitable[None]]


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


# Parses messages (e.g. in a worker process); None = in this process.
ParseMany = Callable[[Sequence[str]], Awaitable[list[Parsed]]]


class HL7BatchHandler:
    """An `MLLPServer.on_batch`: parse each message, publish the events of all of them in one
    call, then ACK each, in order.

    AA only after `publish` returned (the events are durable). A bad message -> AE/AR with
    ERR, and the others go on. A publish failure -> AR with ERR 207 for every message that
    had events; the sender resends (ids are deterministic, so a resend collapses with
    anything that did get through). `parse` may move the parsing elsewhere (a process).

    Two stages for the MLLP server: `prepare` (parse) of the next batch may run while
    `commit` (publish, ACK) of this one waits for Kafka; commits keep arrival order.
    """

    def __init__(
        self,
        practice_id: str,
        publish: Publish,
        *,
        default_tz: tzinfo | str = "UTC",
        on_error: Callable[[HL7Error], None] | None = None,
        parse: ParseMany | None = None,
    ) -> None:
        self.practice_id = practice_id
        self.publish = publish
        self.default_tz = default_tz
        self.on_error = on_error
        self.parse = parse

    async def prepare(self, texts: Sequence[str]) -> list[Parsed]:
        if self.parse is not None:
            return await self.parse(texts)
        return parse_many(texts, self.practice_id, self.default_tz)

    async def commit(self, texts: Sequence[str], outcomes: Sequence[Parsed]) -> list[str]:
        on_error = self.on_error
        events: list[Event] = []
        for outcome in outcomes:
            if isinstance(outcome, HL7Error):
                if on_error is not None:
                    on_error(outcome)
            else:
                events.extend(outcome.events)
        stored = True
        if events:
            try:
                await self.publish(events)
            except Exception:
                stored = False
        replies = []
        for text, outcome in zip(texts, outcomes, strict=True):
            if isinstance(outcome, HL7Error):
                replies.append(ack(text, outcome.code, error=outcome))
            elif outcome.events and not stored:
                failure = HL7Error(
                    "MSH",
                    None,
                    "could not store the message, resend later",
                    code="AR",
                    err_code=ERR_INTERNAL,
                    control_id=outcome.control_id,
                )
                if on_error is not None:
                    on_error(failure)
                replies.append(ack(text, "AR", error=failure))
            else:
                note = "ignored: trigger not used" if outcome.ignored else ""
                replies.append(ack(text, "AA", note))
        return replies

    async def __call__(self, texts: Sequence[str]) -> list[str]:
        return await self.commit(texts, await self.prepare(texts))


def hl7_batch_callback(
    practice_id: str,
    publish: Publish,
    *,
    default_tz: tzinfo | str = "UTC",
    on_error: Callable[[HL7Error], None] | None = None,
    parse: ParseMany | None = None,
) -> HL7BatchHandler:
    """See `HL7BatchHandler`."""
    return HL7BatchHandler(
        practice_id, publish, default_tz=default_tz, on_error=on_error, parse=parse
    )


def hl7_callback(
    practice_id: str,
    publish: Publish,
    *,
    default_tz: tzinfo | str = "UTC",
    on_error: Callable[[HL7Error], None] | None = None,
) -> Callable[[str], Awaitable[str]]:
    """An `MLLPServer.on_message`: parse, publish, then ACK (`hl7_batch_callback` of one)."""
    on_batch = hl7_batch_callback(practice_id, publish, default_tz=default_tz, on_error=on_error)

    async def on_message(text: str) -> str:
        return (await on_batch([text]))[0]

    return on_message
