"""Twilio-style SMS webhooks: signature check and normalisation. Pure: no I/O."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

from switchboard.events import Attachment, MessageReceived, deterministic_id


class InvalidWebhook(ValueError):
    """The payload is not a usable SMS webhook; the message says which field and why."""


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


def to_event(
    practice_id: str, params: Mapping[str, str], received_at: datetime, max_body_chars: int
) -> MessageReceived:
    sid = _required(params, "MessageSid")
    sender = _required(params, "From")
    line = _required(params, "To")
    body = params.get("Body", "")
    if len(body) > max_body_chars:
        raise InvalidWebhook(f"Body is longer than {max_body_chars} characters")
    try:
        num_media = int(params.get("NumMedia", "0") or 0)
    except ValueError:
        raise InvalidWebhook("NumMedia must be a whole number") from None
    attachments = []
    for i in range(num_media):
        url = params.get(f"MediaUrl{i}")
        if not url:
            raise InvalidWebhook(f"MediaUrl{i} is required when NumMedia is {num_media}")
        attachments.append(
            Attachment(
                attachment_id=f"{sid}-{i}",
                content_type=params.get(f"MediaContentType{i}", "application/octet-stream"),
                size_bytes=0,
                ref=url,
            )
        )
    event_id = deterministic_id(practice_id, "twilio", sid)
    return MessageReceived(
        event_id=event_id,
        occurred_at=received_at,
        practice_id=practice_id,
        correlation_id=event_id,
        message_id=event_id,
        # Each sending line is its own thread with the patient (I-LINE-1).
        conversation_id=deterministic_id(practice_id, "sms", line, sender),
        channel="sms",
        sender=sender,
        recipient=line,
        provider="twilio",
        provider_message_id=sid,
        received_at=received_at,
        body=body,
        attachments=tuple(attachments),
    )
