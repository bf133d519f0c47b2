"""Signed outbound webhooks (I-NOTIFY-1): HMAC-SHA256 over timestamp and body."""

import hashlib
import hmac

from switchboard.notifier.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
    signed_headers,
    verify,
)

SECRET = "s3cret-s3cret-s3cret"
BODY = b'{"alerts":[]}'


# covers I-NOTIFY-1
def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), b"1780000000." + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, 1780000000, BODY) == f"v1={expected}"


# covers I-NOTIFY-1
def test_verify_accepts_fresh_and_rejects_tampered_stale_or_wrong_secret():
    h = signed_headers(SECRET, 1780000000, BODY)
    ts, sig = h[TIMESTAMP_HEADER], h[SIGNATURE_HEADER]
    assert verify(SECRET, BODY, ts, sig, now=1780000010)
    assert not verify(SECRET, BODY + b" ", ts, sig, now=1780000010)
    assert not verify("another-secret-0000", BODY, ts, sig, now=1780000010)
    assert not verify(SECRET, BODY, ts, sig, now=1780000000 + 3600)
    assert not verify(SECRET, BODY, None, sig, now=1780000010)
    assert not verify(SECRET, BODY, "not-a-number", sig, now=1780000010)


def test_any_of_several_signatures_during_rotation():
    sig = signature(SECRET, 1780000000, BODY)
    assert verify(SECRET, BODY, "1780000000", f"v1=deadbeef, {sig}", now=1780000000)
