"""Signed links: the secure-email notice's link to the patient page, and time-limited media
URLs the SMS provider fetches for an outbound MMS. HMAC-SHA256 with `link_secret`; a link
names what it opens and cannot be turned into another."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from urllib.parse import quote

from switchboard.ingest.settings import IngestSettings


def _mac(key: str, *parts: str) -> str:
    digest = hmac.new(key.encode(), "|".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def _signs(settings: IngestSettings, given: str, *parts: str) -> bool:
    """Signed by the current key or a previous one (links live for weeks: rotation must not
    break those already sent)."""
    keys = [settings.link_secret, *settings.link_previous_secrets]
    return any(hmac.compare_digest(_mac(k.get_secret_value(), *parts), given) for k in keys)


def secure_token(settings: IngestSettings, practice_id: str, message_id: uuid.UUID) -> str:
    return _mac(settings.link_secret.get_secret_value(), "secure", practice_id, str(message_id))


def secure_link(settings: IngestSettings, practice_id: str, message_id: uuid.UUID) -> str:
    token = secure_token(settings, practice_id, message_id)
    base = settings.patient_page_url.rstrip("/")
    return f"{base}/{practice_id}/secure/{message_id}?t={token}"


def secure_token_valid(
    settings: IngestSettings, practice_id: str, message_id: uuid.UUID, token: str
) -> bool:
    return _signs(settings, token, "secure", practice_id, str(message_id))


def media_url(
    settings: IngestSettings,
    base_url: str,
    ref: str,
    content_type: str,
    now: float | None = None,
) -> str:
    expires = int((now if now is not None else time.time()) + settings.media_url_ttl_s)
    sig = _mac(settings.link_secret.get_secret_value(), "media", ref, content_type, str(expires))
    return (
        f"{base_url.rstrip('/')}/media?ref={quote(ref, safe='')}"
        f"&ct={quote(content_type, safe='')}&exp={expires}&sig={sig}"
    )


def media_url_valid(
    settings: IngestSettings,
    ref: str,
    content_type: str,
    expires: int,
    sig: str,
    now: float | None = None,
) -> bool:
    if expires < (now if now is not None else time.time()):
        return False
    return _signs(settings, sig, "media", ref, content_type, str(expires))
