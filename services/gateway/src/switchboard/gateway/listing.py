"""A page of conversations as the staff API lists them, shared by the inbox views
(routes/inbox_views.py) and search (routes/search.py): the page and its counts, the keyset
cursor a client passes back, and the list filters' query parameters."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import HTTPException, Query
from pydantic import BaseModel

from switchboard.gateway.conversations import ConversationSummary
from switchboard.gateway.readmodel import inbox

Channel = Literal["sms", "email", "secure_email", "web_chat", "voicemail"]
Status = Literal["open", "closed", "snoozed"]
Limit = Annotated[int, Query(ge=1, le=200)]
Short = Annotated[str | None, Query(min_length=1, max_length=128)]


class Counts(BaseModel):
    total: int
    open: int
    unassigned: int


class InboxPage(BaseModel):
    inbox: str
    items: list[ConversationSummary]
    next_cursor: str | None
    counts: Counts | None = None


def position(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """Where a page starts: the decoded `cursor`, 422 for one this API did not give out."""
    if cursor is None:
        return None
    try:
        return inbox.decode_cursor(cursor)
    except inbox.BadCursor as exc:
        raise HTTPException(422, str(exc)) from None
