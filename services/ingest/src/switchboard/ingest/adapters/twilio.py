"""Twilio-style webhooks (SMS/MMS, voicemail recordings, delivery status): signature check
and parsing into the channel-neutral inbound model. Pure: no I/O.

What becomes of an inbound message (its ids, its thread) is not decided here but in
domain/received.py, the same for every channel.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from switchboard.events import Attachment
from switchboard.ingest.domain.inbound import Inbound


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


def sms_inbound(
    practice_id: str,
    params: Mapping[str, str],
    received_at: datetime,
    max_body_chars: int,
    *,
    line_label: str | None = None,
) -> Inbound:
    """An SMS/MMS webhook as an inbound message. Its attachments are the provider's media
    URLs as refs (size unknown); intake replaces them with the stored files when it fetches
    them."""
    sid = _required(params, "MessageSid")
    sender = _required(params, "From")
    line = _required(params, "To")
    body = params.get("Body", "")
    if len(body) > max_body_chars:
        raise InvalidWebhook(f"Body is longer than {max_body_chars} characters")
    return Inbound(
        channel="sms",
        practice_id=practice_id,
        sender=sender,
        line=line,
        provider="twilio",
        external_id=sid,
        received_at=received_at,
        body=body,
        attachments=tuple(
            Attachment(
                attachment_id=f"{sid}-{m.index}",
                content_type=m.content_type,
                size_bytes=0,
                ref=m.url,
            )
            for m in media_of(params)
        ),
        line_label=line_label,
    )


def voicemail_inbound(
    practice_id: str,
    params: Mapping[str, str],
    received_at: datetime,
    max_body_chars: int,
    *,
    line_label: str | None = None,
) -> Inbound:
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
    return Inbound(
        channel="voicemail",
        practice_id=practice_id,
        sender=caller,
        line=called,
        provider="twilio",
        external_id=recording,
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
