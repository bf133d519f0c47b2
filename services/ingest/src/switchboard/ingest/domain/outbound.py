"""A reply on its way out, before any I/O (I-REPLY-1, T-1). Pure: how it goes out
(`outbound_kind`), why it cannot go as asked (`refusal`), and the events that say how it went
(`sent_event`, `failed_event`), with ids derived from the reply so a repeat appends nothing new.
The consumer (entrypoints/handlers.py), the dispatcher and the carrier's status callbacks use
these; they do the writing and the sending."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from switchboard.events import ReplyFailed, ReplyRequested, ReplySent, deterministic_id
from switchboard.ingest.domain.attachment_refs import practice_of
from switchboard.ingest.domain.directory import Directory


def _outcome(request: ReplyRequested, kind: str, at: datetime) -> dict[str, Any]:
    """What a reply's outcome repeats of the reply, with an id derived from it."""
    return {
        "event_id": deterministic_id(request.message_id, kind),
        "occurred_at": at,
        "conversation_id": request.conversation_id,
        "message_id": request.message_id,
        "channel": request.channel,
        "line": request.line,
        "actor": request.actor,
    }


def sent_event(request: ReplyRequested, provider_message_id: str | None, at: datetime) -> ReplySent:
    sent: ReplySent = ReplySent.derive(
        request,
        **_outcome(request, "reply-sent", at),
        provider_message_id=provider_message_id,
        sent_at=at,
    )
    return sent


def failed_event(
    request: ReplyRequested, why: str, at: datetime, provider_message_id: str | None = None
) -> ReplyFailed:
    failed: ReplyFailed = ReplyFailed.derive(
        request,
        **_outcome(request, "reply-failed", at),
        provider_message_id=provider_message_id,
        why=why[:200],
        failed_at=at,
    )
    return failed


def outbound_kind(request: ReplyRequested) -> str:
    """How a reply goes out: `portal` (the messenger page), `secure_notice` (the text on the
    patient page, a notice by email), `email`, or `sms` (a voicemail is answered by SMS from
    the number called)."""
    if request.channel == "web_chat":
        return "portal"
    if request.channel == "secure_email" or (request.channel == "email" and request.secure):
        return "secure_notice"
    if request.channel == "email":
        return "email"
    return "sms"


def refusal(request: ReplyRequested, directory: Directory) -> str | None:
    """Why a reply cannot be sent as asked, or None. Never from another practice's line or
    with another practice's files (T-1)."""
    kind = outbound_kind(request)
    if kind in ("email", "secure_notice"):
        if directory.line_of(request.practice_id, "email", request.line) is None:
            return "line_not_of_practice"
        if "@" not in request.to:
            return "recipient_not_an_email_address"
    elif kind == "sms" and directory.line_of(request.practice_id, "sms", request.line) is None:
        return "line_not_of_practice" if request.channel == "sms" else "number_cannot_text"
    for a in request.attachments:
        owner = practice_of(a.ref)
        if owner is not None and owner != request.practice_id:
            return "attachment_of_another_practice"
        if owner is None and not a.ref.startswith("https://"):
            return "attachment_ref_not_usable"
    return None
