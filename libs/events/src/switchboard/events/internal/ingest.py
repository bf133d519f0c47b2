"""Pure: ingest's internal API.

GET  /internal/practices/{p}/lines            PracticeLines (I-LINE-1)
POST /internal/practices/{p}/files            StoredFile (the body is the file)
GET  /internal/practices/{p}/attachments?ref= the file's bytes: no model
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


class StoredFile(BaseModel):
    """A file staff uploaded for a reply (`POST .../files`), as stored (I-REPLY-1)."""

    ref: str  # what a reply's `attachments` name it by
    size_bytes: int
    content_type: str
