"""The HMAC signature of Switchboard's signed HTTP bodies. Pure (the caller passes the time).

The notifier signs its outbound webhooks with it and ingest checks a mail relay's posts with
it, so one helper serves both ends:

    X-Switchboard-Timestamp: <unix seconds>
    X-Switchboard-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

A receiver recomputes the HMAC over the raw body and rejects a timestamp further than its
tolerance from now (replay protection). Several `v1=` values separated by commas may appear
while a secret is rotated; any one matching is enough.

Arguments are always in the order of what is signed: secret, timestamp, (signature,) body.
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Switchboard-Timestamp"
SIGNATURE_HEADER = "X-Switchboard-Signature"
DEFAULT_TOLERANCE_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    now: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """True when one of the header's signatures is the body's and the timestamp (decimal
    digits only) is within `tolerance_s` of `now`."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    ts = int(timestamp)
    if abs(now - ts) > tolerance_s:
        return False
    expected = sign(secret, ts, body)
    return any(hmac.compare_digest(expected, given.strip()) for given in signature.split(","))
