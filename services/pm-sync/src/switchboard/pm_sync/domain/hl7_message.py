"""HL7 v2 message access (X-FHIR-1): parsing text into a python-hl7 message, reading fields
without exceptions, HL7 date/times, the MSH header, and `HL7Error`. Pure.

Error texts name the segment and field, never a field's value, so they can be logged and
sent back in an ACK without leaking patient data.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

import hl7
from hl7.datatypes import parse_datetime

# HL7 table 0357 (message error condition codes) used in ERR segments.
ERR_SEGMENT_SEQUENCE = 100
ERR_REQUIRED_MISSING = 101
ERR_DATA_TYPE = 102
ERR_TABLE_VALUE = 103
ERR_UNSUPPORTED_TYPE = 200
ERR_UNSUPPORTED_VERSION = 203
ERR_INTERNAL = 207


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


# --- field access -----------------------------------------------------------------------------


def field_count(seg: Any) -> int:
    return len(seg) - 1


def repetitions(seg: Any, field: int) -> int:
    if field > field_count(seg):
        return 0
    return len(seg[field])


def field_value(seg: Any, field: int, rep: int = 1, comp: int = 1, sub: int = 1) -> str:
    """One value, unescaped and stripped; "" when absent (never raises)."""
    if seg is None or field > field_count(seg):
        return ""
    try:
        if rep > max(repetitions(seg, field), 1):
            return ""
        value = seg.extract_field(1, field, rep, comp, sub)
    except (IndexError, KeyError, TypeError):
        return ""
    return str(value).strip()


class IndexedMessage:
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


def segments_named(msg: Any, name: str) -> list[Any]:
    try:
        return list(msg.segments(name))
    except KeyError:
        return []


def first_segment(msg: Any, name: str) -> Any | None:
    found = segments_named(msg, name)
    return found[0] if found else None


# --- values -----------------------------------------------------------------------------------


# HL7 DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ] (the library's own check is lenient)
_DTM = re.compile(
    r"\d{4}(?:\d{2}(?:\d{2}(?:\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,4})?)?)?)?)?)?(?:[+-]\d{4})?"
)


def zone(default_tz: tzinfo | str) -> tzinfo:
    return ZoneInfo(default_tz) if isinstance(default_tz, str) else default_tz


def hl7_datetime(
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


# --- MSH --------------------------------------------------------------------------------------


def normalise_text(raw: str | bytes) -> str:
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
    text = normalise_text(text)
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


def read_header(msg: Any) -> tuple[Any, str, str, str]:
    msh = msg.segment("MSH")
    control_id = field_value(msh, 10)
    if not control_id:
        raise HL7Error("MSH", 10, "message control id missing", code="AR")
    message_type = field_value(msh, 9, 1, 1).upper()
    trigger = field_value(msh, 9, 1, 2).upper()
    if not message_type or not trigger:
        raise HL7Error("MSH", 9, "message type missing", code="AR", control_id=control_id)
    version = field_value(msh, 12, 1, 1)
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


def message_time(msh: Any, tz: tzinfo, control_id: str) -> datetime:
    raw = field_value(msh, 7, 1, 1)
    if not raw:
        raise HL7Error("MSH", 7, "message date/time missing", code="AR", control_id=control_id)
    try:
        return hl7_datetime(raw, "MSH", 7, tz, "message date/time", control_id)
    except HL7Error as exc:
        exc.code = "AR"
        raise
