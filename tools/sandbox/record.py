"""What the sandbox "sent", as one list (the page, the admin API, the fault harness's
duplicate count). Pure: the SMTP sink and the HTTP app hand their messages in.

A row: channel (sms | email), recipient, sender, provider_id (the SMS sid, the email's
Message-ID), key (which rows are the same send: an SMS's text hash, since Twilio keeps no
reference of ours; an email's Message-ID), subject, body, status, error_code, at (epoch
seconds), history. A duplicate is one recipient given the same key more than once:
`receiver_can_drop` says whether the receiver could drop it (email: by Message-ID) or the
person got it twice (SMS).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from tools.sandbox.carrier import Message

BODY_CHARS = 20_000  # of an email's text kept for the page


def text_key(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Mail:
    """One message the SMTP sink accepted."""

    sender: str
    recipients: tuple[str, ...]
    message_id: str
    subject: str
    body: str
    received_at: datetime


def mail_of(sender: str, recipients: Iterable[str], raw: bytes, at: datetime) -> Mail:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(preferencelist=("plain", "html"))
    body = part.get_content() if part is not None else ""
    return Mail(
        sender=str(msg.get("From", sender)),
        recipients=tuple(recipients),
        message_id=str(msg.get("Message-ID", "")),
        subject=str(msg.get("Subject", "")),
        body=str(body)[:BODY_CHARS],
        received_at=at,
    )


def sms_row(m: Message) -> dict[str, Any]:
    return {
        "channel": "sms",
        "recipient": m.to,
        "sender": m.sender,
        "provider_id": m.sid,
        "key": text_key(m.body),
        "subject": None,
        "body": m.body,
        "status": m.status,
        "error_code": m.error_code,
        "at": m.created_at.timestamp(),
        "history": [{"status": s, "at": at.timestamp()} for s, at in m.history],
    }


def mail_rows(m: Mail) -> list[dict[str, Any]]:
    return [
        {
            "channel": "email",
            "recipient": r,
            "sender": m.sender,
            "provider_id": m.message_id,
            "key": m.message_id,
            "subject": m.subject,
            "body": m.body,
            "status": "received",
            "error_code": None,
            "at": m.received_at.timestamp(),
            "history": [{"status": "received", "at": m.received_at.timestamp()}],
        }
        for r in m.recipients
    ]


def rows(messages: Iterable[Message], mails: Iterable[Mail]) -> list[dict[str, Any]]:
    """Every send, newest first."""
    out = [sms_row(m) for m in messages] + [r for m in mails for r in mail_rows(m)]
    return sorted(out, key=lambda r: r["at"], reverse=True)


def duplicates(sends: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    counts = Counter((s["channel"], s["recipient"], s["key"]) for s in sends)
    # An email or webhook repeat carries the receiver's dedupe key (Message-ID,
    # Idempotency-Key): the receiver can drop it. An SMS repeat reaches the person.
    return [
        {"channel": c, "recipient": r, "key": k, "count": n, "receiver_can_drop": c != "sms"}
        for (c, r, k), n in sorted(counts.items())
        if n > 1
    ]
