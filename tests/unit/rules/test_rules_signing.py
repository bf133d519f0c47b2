"""The HMAC timestamp.body signature shared by the notifier's webhooks and ingest's mail
relay endpoint (I-NOTIFY-1)."""

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from switchboard.rules.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    signed_headers,
    verify,
)

SECRET = "s3cret-s3cret-s3cret"
BODY = b'{"alerts":[]}'
TS = 1780000000

secrets = st.text(min_size=1, max_size=40)
bodies = st.binary(max_size=200)
stamps = st.integers(min_value=0, max_value=4_000_000_000)


# covers I-NOTIFY-1
def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), b"1780000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, TS, BODY) == f"v1={expected}"


# covers I-NOTIFY-1
def test_verify_accepts_fresh_and_rejects_tampered_stale_or_wrong_secret():
    h = signed_headers(SECRET, TS, BODY)
    ts, sig = h[TIMESTAMP_HEADER], h[SIGNATURE_HEADER]
    assert verify(SECRET, ts, sig, BODY, now=TS + 10)
    assert not verify(SECRET, ts, sig, BODY + b" ", now=TS + 10)
    assert not verify("another-secret-0000", ts, sig, BODY, now=TS + 10)
    assert not verify(SECRET, ts, sig, BODY, now=TS + 3600)
    assert not verify(SECRET, None, sig, BODY, now=TS + 10)
    assert not verify(SECRET, ts, None, BODY, now=TS + 10)
    assert not verify(SECRET, "not-a-number", sig, BODY, now=TS + 10)
    assert not verify(SECRET, f"-{ts}", sig, BODY, now=TS + 10)


def test_the_tolerance_is_the_receivers():
    sig = sign(SECRET, TS, BODY)
    assert verify(SECRET, str(TS), sig, BODY, now=TS + 300)
    assert not verify(SECRET, str(TS), sig, BODY, now=TS + 301)
    assert verify(SECRET, str(TS), sig, BODY, now=TS + 301, tolerance_s=600)


def test_any_of_several_signatures_during_rotation():
    sig = sign(SECRET, TS, BODY)
    assert verify(SECRET, str(TS), f"v1=deadbeef, {sig}", BODY, now=TS)


@given(secret=secrets, ts=stamps, body=bodies)
def test_verifies_what_it_signs(secret, ts, body):
    h = signed_headers(secret, ts, body)
    assert verify(secret, h[TIMESTAMP_HEADER], h[SIGNATURE_HEADER], body, now=ts)


@given(secret=secrets, ts=stamps, body=bodies.filter(bool), data=st.data())
def test_rejects_any_changed_byte(secret, ts, body, data):
    sig = sign(secret, ts, body)
    i = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = body[:i] + bytes([body[i] ^ flip]) + body[i + 1 :]
    assert not verify(secret, str(ts), sig, changed, now=ts)


@given(secret=secrets, ts=stamps, body=bodies, other=stamps)
def test_a_signature_is_bound_to_its_timestamp(secret, ts, body, other):
    sig = sign(secret, ts, body)
    assert verify(secret, str(other), sig, body, now=other) == (other == ts)
