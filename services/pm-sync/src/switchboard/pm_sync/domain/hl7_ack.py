"""HL7 v2 acknowledgements (X-FHIR-1): the ACK text for a message, with MSA and, when
rejecting, an ERR segment naming the segment and field. Pure.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from switchboard.pm_sync.domain.hl7_message import (
    ERR_DATA_TYPE,
    ERR_INTERNAL,
    ERR_REQUIRED_MISSING,
    ERR_SEGMENT_SEQUENCE,
    ERR_TABLE_VALUE,
    ERR_UNSUPPORTED_TYPE,
    ERR_UNSUPPORTED_VERSION,
    HL7Error,
    field_count,
    normalise_text,
)

AckCode = Literal["AA", "AE", "AR"]

_ERR_TEXT = {
    ERR_SEGMENT_SEQUENCE: "Segment sequence error",
    ERR_REQUIRED_MISSING: "Required field missing",
    ERR_DATA_TYPE: "Data type error",
    ERR_TABLE_VALUE: "Table value not found",
    ERR_UNSUPPORTED_TYPE: "Unsupported message type",
    ERR_UNSUPPORTED_VERSION: "Unsupported version id",
    ERR_INTERNAL: "Application internal error",
}


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
        text = normalise_text(message)
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
            fields[i] = str(msh[i]) if i <= field_count(msh) else ""
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
