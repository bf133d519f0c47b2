"""Pure: ingest's internal API (`GET /internal/practices/{p}/lines`, I-LINE-1).

`GET .../attachments?ref=` answers the file's bytes (application/octet-stream): no model.
"""

from __future__ import annotations

from pydantic import BaseModel


class Line(BaseModel):
    """An SMS line, voicemail number or mailbox of the practice."""

    channel: str  # "sms" | "voice" | "email" (ingest's names; the staff API says "voicemail")
    address: str
    label: str | None
    display: str  # what the inbox shows beside the patient's name: the label, else the number
    main: bool


class PracticeLines(BaseModel):
    practice_id: str
    lines: list[Line]
