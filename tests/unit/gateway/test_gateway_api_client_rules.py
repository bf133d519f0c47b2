"""API clients' pure rules (api_clients.py, ADR 0024): the token request as RFC 6749 reads
it, the error answers a client library expects, the attempt limit, client tokens."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import quote_plus

import pytest

from switchboard.gateway.api_clients import (
    CLIENT_ID,
    OAuthError,
    blocked_for,
    clean_name,
    new_client_id,
    new_secret,
    parse_token_request,
    token_answer,
)
from switchboard.gateway.auth import Principal, issue_client_token, issue_token, read_token

FORM = "application/x-www-form-urlencoded"
CID = "apic-0123456789abcdef"
KEY = "unit-test-signing-key-0123456789abcdef-xyz"


def refused(content_type: str | None, body: str, authorization: str | None = None) -> OAuthError:
    with pytest.raises(OAuthError) as e:
        parse_token_request(content_type, body.encode(), authorization)
    return e.value


def basic(user: str, password: str) -> str:
    raw = f"{quote_plus(user)}:{quote_plus(password)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def test_form_body_credentials():
    # covers X-APICLIENT-1
    asked = parse_token_request(
        FORM, f"grant_type=client_credentials&client_id={CID}&client_secret=s%2B1".encode(), None
    )
    assert (asked.client_id, asked.client_secret, asked.basic) == (CID, "s+1", False)


def test_a_bearer_header_is_not_client_authentication():
    asked = parse_token_request(
        FORM,
        f"grant_type=client_credentials&client_id={CID}&client_secret=x".encode(),
        "Bearer some.old.token",
    )
    assert (asked.client_id, asked.client_secret, asked.basic) == (CID, "x", False)


def test_basic_credentials_are_form_decoded():
    asked = parse_token_request(
        FORM + "; charset=utf-8", b"grant_type=client_credentials", basic(CID, "a:b+c d")
    )
    assert (asked.client_id, asked.client_secret, asked.basic) == (CID, "a:b+c d", True)


def test_the_rfc_errors():
    assert refused("application/json", "{}").error == "invalid_request"
    assert refused(FORM, f"client_id={CID}&client_secret=x").error == "invalid_request"
    wrong_grant = refused(FORM, "grant_type=password&username=a&password=b")
    assert (wrong_grant.status, wrong_grant.error) == (400, "unsupported_grant_type")
    repeated = refused(FORM, f"grant_type=client_credentials&client_id={CID}&client_id={CID}")
    assert repeated.error == "invalid_request"
    both = refused(FORM, "grant_type=client_credentials&client_secret=x", basic(CID, "x"))
    assert both.error == "invalid_request"
    grant = f"grant_type=client_credentials&client_id={CID}"
    scope = refused(FORM, f"{grant}&client_secret=x&scope=admin")
    assert (scope.status, scope.error) == (400, "invalid_scope")
    assert refused(FORM, grant).error == "invalid_request"  # no secret


def test_a_malformed_client_is_invalid_client_with_the_basic_challenge():
    bad_id = refused(FORM, "grant_type=client_credentials&client_id=root&client_secret=x")
    assert (bad_id.status, bad_id.error, bad_id.basic) == (401, "invalid_client", False)
    garbage = refused(FORM, "grant_type=client_credentials", "Basic %%%")
    assert (garbage.status, garbage.error) == (401, "invalid_client")
    assert garbage.headers()["WWW-Authenticate"].startswith("Basic ")
    assert garbage.headers()["Cache-Control"] == "no-store"
    assert set(garbage.body()) == {"error", "error_description"}


def test_the_scope_may_be_named():
    asked = parse_token_request(
        FORM,
        f"grant_type=client_credentials&client_id={CID}&client_secret=x&scope=inbox.api".encode(),
        None,
    )
    assert asked.client_id == CID


def test_ids_and_secrets():
    assert CLIENT_ID.match(new_client_id())
    a, b = new_secret(), new_secret()
    assert a != b and a.startswith("sbcs_") and len(a) >= 40
    assert clean_name("  Data\n warehouse  ") == "Data warehouse"


def test_token_answer_is_rfc_6749_5_1():
    assert token_answer("t", 900) == {
        "access_token": "t",
        "token_type": "Bearer",
        "expires_in": 900,
        "scope": "inbox.api",
    }


def test_attempt_limit_sliding_window():
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    recent = [now - timedelta(seconds=s) for s in (10, 20, 30)]
    assert blocked_for(recent[:2], now, 3, 60) is None
    assert blocked_for(recent, now, 3, 60) == 30  # the third newest ages out in 30 s
    assert blocked_for(recent, now, 3, 30.5) == 1


def test_client_tokens_carry_their_secret_version():
    # covers X-APICLIENT-1
    p = read_token(issue_client_token(CID, "demo", 3, KEY, 900), KEY)
    assert p is not None
    assert (p.user_id, p.practice_id, p.role, p.client_version) == (CID, "demo", "api_client", 3)
    assert p.policies == frozenset({"inbox.api"})
    staff = read_token(issue_token(Principal("u-1", "demo", "staff", frozenset()), KEY, 60), KEY)
    assert staff is not None and staff.client_version is None
