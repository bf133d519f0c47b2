"""The patient page's identity check, signed links, and the attachment store."""

import datetime as dt
import hashlib
import uuid

import pytest

from switchboard.events.internal.pm_sync import PatientSummary
from switchboard.ingest.adapters.attachments import FilesystemStore, sigv4_headers
from switchboard.ingest.adapters.sign_in_limit import blocked_for, key_hash
from switchboard.ingest.domain.attachment_refs import AttachmentNotFound, key_of, practice_of
from switchboard.ingest.domain.directory import Directory
from switchboard.ingest.domain.identity import matching_patients, name_key
from switchboard.ingest.domain.links import (
    media_url,
    media_url_valid,
    secure_link,
    secure_token,
    secure_token_valid,
)
from switchboard.ingest.settings import IngestSettings, Line
from switchboard.rules.contacts import normalize_phone


def candidate(patient_id: str, given: str, family: str, birth_date: str) -> PatientSummary:
    return PatientSummary.model_validate(
        {
            "patient_id": patient_id,
            "given_name": given,
            "family_name": family,
            "birth_date": birth_date,
            "age": None,
            "phones": ["+12125550101"],
            "emails": [],
            "preferred_language": None,
            "timezone": None,
        }
    )


CANDIDATES = [
    candidate("p1", "José", "García-López", "1980-02-29"),
    candidate("p2", "Ana", "García-López", "2012-07-01"),
]


def test_name_and_birth_date_pick_the_patient_among_those_using_the_number():
    dob = dt.date(1980, 2, 29)
    assert matching_patients(CANDIDATES, " jose ", "garcia lopez", dob) == ["p1"]
    assert matching_patients(CANDIDATES, "Ana", "García-López", dob) == []
    assert matching_patients(CANDIDATES, "José", "Garcia", dob) == []
    assert name_key("O\u2019Brien") == name_key("obrien")


def test_failed_attempts_are_limited_over_a_sliding_window():
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    at = [t0 + dt.timedelta(seconds=s) for s in (50, 40, 30)]  # newest first
    assert blocked_for(at[:2], t0 + dt.timedelta(seconds=55), limit=3, window_s=60) is None
    # three in the window: refused until the oldest of them (t0+30) is 60 s old
    assert blocked_for(at, t0 + dt.timedelta(seconds=55), limit=3, window_s=60) == 35
    assert blocked_for(at, t0 + dt.timedelta(seconds=89.5), limit=3, window_s=60) == 1


def test_limiter_keys_name_no_patient():
    h = key_hash("server-secret", "demo|phone|+12125550101")
    assert "2125550101" not in h and len(h) == 64
    assert h != key_hash("other-secret", "demo|phone|+12125550101")


def test_phone_numbers_normalise_to_e164():
    assert normalize_phone("(212) 555-0101") == "+12125550101"
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("12") is None


def test_secure_links_name_their_message_and_practice():
    s = IngestSettings(link_secret="s3cret", patient_page_url="https://page.test/p")
    mid = uuid.uuid4()
    link = secure_link(s, "demo", mid)
    token = link.split("t=")[1]
    assert link.startswith(f"https://page.test/p/demo/secure/{mid}?t=")
    assert secure_token_valid(s, "demo", mid, token)
    assert not secure_token_valid(s, "other", mid, token)
    assert not secure_token_valid(s, "demo", uuid.uuid4(), token)
    other = IngestSettings(link_secret="different")
    assert secure_token(other, "demo", mid) != token


def test_media_urls_expire_and_cannot_be_altered():
    s = IngestSettings(link_secret="s3cret")
    url = media_url(s, "https://ingest.test", "store:demo/ab/abc", "image/png", now=1000)
    sig = url.split("sig=")[1]
    exp = 1000 + s.media_url_ttl_s
    assert media_url_valid(s, "store:demo/ab/abc", "image/png", exp, sig, now=1001)
    assert not media_url_valid(s, "store:demo/ab/abd", "image/png", exp, sig, now=1001)
    assert not media_url_valid(s, "store:demo/ab/abc", "text/html", exp, sig, now=1001)
    assert not media_url_valid(s, "store:demo/ab/abc", "image/png", exp, sig, now=exp + 1)


async def test_filesystem_store_keys_by_practice_and_content(tmp_path):
    store = FilesystemStore(tmp_path)
    ref = await store.put("demo", b"hello", "text/plain")
    digest = hashlib.sha256(b"hello").hexdigest()
    assert ref == f"store:demo/{digest[:2]}/{digest}"
    assert await store.put("demo", b"hello", "text/plain") == ref  # stored once
    assert await store.get(ref) == b"hello"
    assert practice_of(ref) == "demo" and practice_of("https://x.test/1") is None
    with pytest.raises(AttachmentNotFound):
        await store.get("store:demo/00/missing")
    for bad in ("store:../../etc/passwd", "store:demo/../x/y", "file:/etc/passwd"):
        with pytest.raises(AttachmentNotFound):
            key_of(bad)


def test_sigv4_matches_the_published_test_vector():
    # AWS Signature Version 4 test suite, "get-vanilla".
    h = sigv4_headers(
        method="GET",
        url="https://example.amazonaws.com/",
        region="us-east-1",
        service="service",
        access_key="AKIDEXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        payload_hash=hashlib.sha256(b"").hexdigest(),
        now=dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.UTC),
    )
    assert h["authorization"].endswith(
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def test_directory_refuses_a_number_of_two_practices_and_finds_lines():
    d = Directory(
        [
            Line(practice_id="a", channel="sms", address="+1 212 555 0000", label="Main"),
            Line(practice_id="a", channel="email", address="Front@A.test"),
        ]
    )
    assert d.line_of("a", "sms", "+12125550000").label == "Main"
    assert d.line_of("b", "sms", "+12125550000") is None
    assert d.find("email", "front@a.test") is not None
    assert d.main_line("a").address == "+1 212 555 0000"
    with pytest.raises(ValueError, match="two practices"):
        Directory(
            [
                Line(practice_id="a", channel="sms", address="+12125550000"),
                Line(practice_id="b", channel="sms", address="+12125550000"),
            ]
        )


def test_links_signed_with_a_previous_secret_still_open_during_rotation():
    before = IngestSettings(link_secret="old-link-secret")
    mid = uuid.uuid4()
    token = secure_token(before, "demo", mid)
    sig = media_url(before, "https://i.test", "store:x", "image/png", now=1000).split("sig=")[1]
    exp = 1000 + before.media_url_ttl_s
    rotating = IngestSettings(
        link_secret="new-link-secret", link_previous_secrets=["old-link-secret"]
    )
    assert secure_token_valid(rotating, "demo", mid, token)
    assert media_url_valid(rotating, "store:x", "image/png", exp, sig, now=1001)
    # New links use the new secret; once the old one is dropped its links stop opening.
    assert secure_token(rotating, "demo", mid) != token
    after = IngestSettings(link_secret="new-link-secret")
    assert not secure_token_valid(after, "demo", mid, token)
    assert not media_url_valid(after, "store:x", "image/png", exp, sig, now=1001)
