"""Signatures of raw email posted over HTTP: HMAC-SHA256 over `"<timestamp>." + body` with
the shared secret, in `X-Switchboard-Timestamp` and `X-Switchboard-Signature: v1=<hex>` (the
scheme of the notifier's webhooks, so one signing helper serves a mail provider's relay)."""

from __future__ import annotations

import hashlib
import hmac
import time


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {"X-Switchboard-Timestamp": str(ts), "X-Switchboard-Signature": sign(secret, ts, body)}


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    max_skew_s: int,
    now: float | None = None,
) -> bool:
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    ts = int(timestamp)
    if abs((now if now is not None else time.time()) - ts) > max_skew_s:
        return False
    given = [s.strip() for s in signature.split(",")]
    expected = sign(secret, ts, body)
    return any(hmac.compare_digest(expected, g) for g in given)
