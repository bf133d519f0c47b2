"""Twilio-style webhooks (SMS/MMS, voicemail recordings, delivery status): signature check
and normalisation. Pure: no I/O.

Threads (I-LINE-1, I-THREAD-1): a patient's messages on one practice number are one
conversation, a separate one per number. SMS has no threading of its own, so a message from
a number that is not exactly one patient's (unknown, or shared by several) is its own
unrecognized communication: its conversation id includes the provider's message id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from switchboard.events import Attachment, MessageReceived, deterministic_id


class InvalidWebhook(ValueError):
    """The payload is not a usable webhook; the message says which field and why."""


def signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's scheme: HMAC-SHA1 over the full URL followed by each POST param name+value,
    names sorted, base64-encoded."""
    payload = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_valid(
    auth_token: str, url: str, params: Mapping[str, str], given: str | None
) -> bool:
    if not given:
        return False
    return hmac.compare_digest(signature(auth_token, url, params), given)


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise InvalidWebhook(f"{name} is required")
    return value


def thread_id(practice_id: str, line: str, sender: str) -> uuid.UUID:
    """The conversation of one patient number on one practice number (I-LINE-1)."""
    return deterministic_id(practice_id, "sms", line, sender)


def sms_conversation_id(
    practice_id: str, line: str, sender: str, sid: str, recognized: bool
) -> uuid.UUID:
    # covers I-LINE-1: the line written to is part of the thread.
    if recognized:
        return thread_id(practice_id, line, sender)
    # covers I-THREAD-1: no threading for an unrecognized number, one communication each.
    return deterministic_id(practice_id, "sms", line, sender, sid)


def voicemail_conversation_id(
    practice_id: str, called: str, caller: str, recording: str, recognized: bool
) -> uuid.UUID:
    """A voicemail joins the caller's thread on the number called; an unrecognized caller's
    is its own communication (I-THREAD-1), like an SMS."""
    if recognized:
        return thread_id(practice_id, called, caller)
    return deterministic_id(practice_id, "voicemail", called, caller, recording)


def conversation_of(event: MessageReceived, recognized: bool) -> uuid.UUID:
    """The conversation of an SMS or voicemail event once its sender is known to be exactly
    one patient's or not: the one rule for a message published at once and for one whose
    look-up was deferred (ADR 0008)."""
    if event.channel == "voicemail":
        return voicemail_conversation_id(
            event.practice_id, event.recipient, event.sender, event.provider_message_id, recognized
        )
    return sms_conversation_id(
        event.practice_id, event.recipient, event.sender, event.provider_message_id, recognized
    )


@dataclass(frozen=True)
class Media:
    index: int
    url: str
    content_type: str


def media_of(params: Mapping[str, str]) -> list[Media]:
    try:
        count = int(params.get("NumMedia", "0") or 0)
    except ValueError:
        raise InvalidWebhook("NumMedia must be a whole number") from None
    if not 0 <= count <= 10:
        raise InvalidWebhook("NumMedia must be between 0 and 10")
    items = []
    for i in range(count):
        url = params.get(f"MediaUrl{i}", "").strip()
        if not url.startswith(("https://", "http://")):
            raise InvalidWebhook(f"MediaUrl{i} is required when NumMedia is {count}")
        ctype = params.get(f"MediaContentType{i}", "").strip() or "application/octet-stream"
        items.append(Media(i, url, ctype))
    return items


def to_event(
    practice_id: str,
    params: Mapping[str, str],
    received_at: datetime,
    max_body_chars: int,
    *,
    recognized: bool = True,
    line_label: str | None = None,
    attachments: Sequence[Attachment] | None = None,
) -> MessageReceived:
    """An SMS/MMS webhook as a MessageReceived. `attachments` are the media as stored; when
    None, the provider's media URLs are kept as refs."""
    sid = _required(params, "MessageSid")
    sender = _required(params, "From")
    line = _required(params, "To")
    body = params.get("Body", "")
    if len(body) > max_body_chars:
        raise InvalidWebhook(f"Body is longer than {max_body_chars} characters")
    if attachments is None:
        attachments = [
            Attachment(
                attachment_id=f"{sid}-{m.index}",
                content_type=m.content_type,
                size_bytes=0,
                ref=m.url,
            )
            for m in media_of(params)
        ]
    event_id = deterministic_id(practice_id, "twilio", sid)
    return MessageReceived(
        event_id=event_id,
        occurred_at=received_at,
        practice_id=practice_id,
        correlation_id=event_id,
        message_id=event_id,
        conversation_id=sms_conversation_id(practice_id, line, sender, sid, recognized),
        channel="sms",
        sender=sender,
        recipient=line,
        provider="twilio",
        provider_message_id=sid,
        received_at=received_at,
        body=body,
        attachments=tuple(attachments),
        line_label=line_label,
    )


def voicemail_event(
    practice_id: str,
    params: Mapping[str, str],
    received_at: datetime,
    max_body_chars: int,
    *,
    recognized: bool = True,
    line_label: str | None = None,
) -> MessageReceived:
    """A voicemail left on a practice number: caller, number called, the extension chosen
    ("press 3 for refills", R-OVERWRITE-1 / R-VOICEMAIL-1), the recording and its
    transcription. Fields are Twilio's recording-callback names, plus `Extension` (or
    `Digits`, what the caller pressed)."""
    recording = _required(params, "RecordingSid")
    caller = _required(params, "From")
    called = _required(params, "To")
    url = _required(params, "RecordingUrl")
    if not url.startswith(("https://", "http://")):
        raise InvalidWebhook("RecordingUrl must be an http(s) URL")
    try:
        duration = float(params.get("RecordingDuration", "0") or 0)
    except ValueError:
        raise InvalidWebhook("RecordingDuration must be a number of seconds") from None
    if duration < 0:
        raise InvalidWebhook("RecordingDuration must not be negative")
    extension = (params.get("Extension") or params.get("Digits") or "").strip() or None
    if extension is not None and (
        len(extension) > 16 or any(c not in "0123456789*#" for c in extension)
    ):
        raise InvalidWebhook("Extension must be digits, * or #")
    transcription = params.get("TranscriptionText", "")
    if len(transcription) > max_body_chars:
        raise InvalidWebhook(f"TranscriptionText is longer than {max_body_chars} characters")
    event_id = deterministic_id(practice_id, "twilio-voicemail", recording)
    conversation = voicemail_conversation_id(practice_id, called, caller, recording, recognized)
    return MessageReceived(
        event_id=event_id,
        occurred_at=received_at,
        practice_id=practice_id,
        correlation_id=event_id,
        message_id=event_id,
        conversation_id=conversation,
        channel="voicemail",
        sender=caller,
        recipient=called,
        provider="twilio",
        provider_message_id=recording,
        received_at=received_at,
        body=transcription,
        attachments=(
            Attachment(
                attachment_id=recording,
                content_type=params.get("RecordingContentType", "audio/mpeg") or "audio/mpeg",
                size_bytes=0,
                filename=f"voicemail-{recording}.mp3",
                ref=url,
                duration_s=duration,
            ),
        ),
        voicemail_extension=extension,
        line_label=line_label,
    )


# Twilio's MessageStatus values that end a message's life, as our delivery statuses.
FINAL_STATUSES = {
    "delivered": "delivered",
    "read": "read",
    "undelivered": "undelivered",
    "failed": "failed",
}


@dataclass(frozen=True)
class StatusCallback:
    sid: str
    status: str
    error_code: str | None


def status_callback(params: Mapping[str, str]) -> StatusCallback:
    sid = _required(params, "MessageSid")
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").strip().lower()
    if not status:
        raise InvalidWebhook("MessageStatus is required")
    code = params.get("ErrorCode", "").strip() or None
    if code is not None and not code.isalnum():
        raise InvalidWebhook("ErrorCode must be a code")
    return StatusCallback(sid, status, code)
