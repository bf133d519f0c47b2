"""An inbound message, whatever its channel: what a channel adapter makes of a provider's
input (a Twilio form post, a raw email, the patient page's JSON) before anything decides its
ids or its conversation (domain/received.py does). Pure.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from switchboard.events import Attachment, Channel


def thread_ids(in_reply_to: str | None, references: tuple[str, ...]) -> tuple[str, ...]:
    """The ids that may name a message's thread, nearest first: its parent, then the
    References from the newest back (RFC 5322 section 3.6.4)."""
    ids = [in_reply_to] if in_reply_to else []
    ids += [r for r in reversed(references) if r != in_reply_to]
    return tuple(ids)


@dataclass(frozen=True)
class ThreadHints:
    """What the message says about its own thread: an email's Message-ID, In-Reply-To and
    References (SMS and voicemail have none; the patient page knows its conversation)."""

    message_id: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return thread_ids(self.in_reply_to, self.references)


@dataclass(frozen=True)
class Inbound:
    """One message to a practice. `line` is the practice's number or mailbox written to (or
    the messenger's line); `external_id` the provider's id of the message (Twilio's
    MessageSid or RecordingSid, the email's Message-ID, the page's client message id): a
    retry carries the same one, so the message keeps its ids."""

    channel: Channel
    practice_id: str
    sender: str
    line: str
    provider: str
    external_id: str
    received_at: datetime
    body: str = ""
    subject: str | None = None
    attachments: tuple[Attachment, ...] = ()
    thread: ThreadHints | None = None
    line_label: str | None = None
    voicemail_extension: str | None = None
    # The patient page only: who signed in, and the reason they picked (R-REASON-2).
    patient_id: str | None = None
    selected_reason: str | None = None
    # Known before the message arrived (the patient page's session), else None.
    conversation_id: uuid.UUID | None = None
