"""API clients (issue 16, ADR 0024): programs that call the staff API with the Inbox API
policy (`inbox.api`), after exchanging a client id and secret for a short-lived bearer token
with the OAuth 2.0 client credentials grant (RFC 6749 4.4). Pure: no I/O.

Rules (SPEC X-APICLIENT-1):
- A client belongs to one practice; its tokens are scoped to it like a staff user's (T-1).
- Its secret is made here (256 random bits), shown once (create, rotate) and kept only as an
  argon2 hash. Each rotation bumps the client's `secret_version`; a token carries the version
  it was issued under, so a rotation also ends the tokens of the old secret, and a revocation
  ends every token (both checked per request: api_client_store.ActiveClients).
- The token route reads an `application/x-www-form-urlencoded` body (client_secret_post) or
  HTTP Basic credentials (client_secret_basic, RFC 6749 2.3.1), never both; errors are the
  RFC's JSON bodies (`invalid_request` 400, `invalid_client` 401, `unsupported_grant_type`
  400, `invalid_scope` 400), and repeated failures for a client id are refused for a while
  (429, `slow_down`, Retry-After: the sign-in attempt limit, sign_in_limit.py).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, unquote_plus

API_SCOPE = "inbox.api"
GRANT = "client_credentials"
CLIENT_ID = re.compile(r"^apic-[0-9a-f]{16}$")
SECRET_PREFIX = "sbcs_"  # noqa: S105 (a prefix, recognisable to secret scanners)
NAME_MAX = 80


def new_client_id() -> str:
    return f"apic-{secrets.token_hex(8)}"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


@dataclass
class OAuthError(Exception):
    """An RFC 6749 5.2 error answer."""

    status: int
    error: str
    description: str
    basic: bool = False  # the client tried HTTP Basic: answer with its challenge (5.2)
    retry_after: int | None = None

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}

    def headers(self) -> dict[str, str]:
        out = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if self.basic:
            out["WWW-Authenticate"] = 'Basic realm="switchboard", charset="UTF-8"'
        if self.retry_after is not None:
            out["Retry-After"] = str(self.retry_after)
        return out


def invalid_client(basic: bool) -> OAuthError:
    # One answer for an unknown id, a wrong secret and a revoked client: nothing to probe.
    return OAuthError(401, "invalid_client", "unknown client or wrong secret", basic)


@dataclass(frozen=True)
class TokenRequest:
    client_id: str
    client_secret: str
    basic: bool


def _basic(authorization: str) -> tuple[str, str]:
    _, _, value = authorization.partition(" ")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_client(True) from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise invalid_client(True)
    # RFC 6749 2.3.1: both are form-urlencoded before Basic encoding.
    return unquote_plus(user), unquote_plus(password)


def parse_token_request(
    content_type: str | None, body: bytes, authorization: str | None
) -> TokenRequest:
    """The token request, or OAuthError with the RFC's answer."""
    if (content_type or "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise OAuthError(400, "invalid_request", "send application/x-www-form-urlencoded")
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise OAuthError(400, "invalid_request", "the body is not a form") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:  # RFC 6749 3.2: parameters must not be repeated
            raise OAuthError(400, "invalid_request", f"{key} is given more than once")
        form[key] = value
    grant = form.get("grant_type")
    if not grant:
        raise OAuthError(400, "invalid_request", "grant_type is missing")
    if grant != GRANT:
        raise OAuthError(400, "unsupported_grant_type", "only client_credentials is offered")
    # Only HTTP Basic authenticates a client here; another scheme (a stale bearer token a
    # library sends along) is not client authentication and is ignored.
    basic = authorization is not None and authorization.lower().startswith("basic ")
    if basic and "client_secret" in form:
        raise OAuthError(400, "invalid_request", "use one client authentication method", True)
    if basic:
        client_id, secret = _basic(authorization or "")
        if form.get("client_id") not in (None, client_id):
            raise OAuthError(400, "invalid_request", "two different client ids", True)
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if not client_id or not secret:
            raise OAuthError(400, "invalid_request", "client_id and client_secret are needed")
    scope = form.get("scope")
    if scope is not None and set(scope.split()) - {API_SCOPE}:
        raise OAuthError(400, "invalid_scope", f"the only scope is {API_SCOPE}", basic)
    if not CLIENT_ID.match(client_id) or len(secret) > 200:
        raise invalid_client(basic)
    return TokenRequest(client_id, secret, basic)


def token_answer(access_token: str, ttl_s: int) -> dict[str, str | int]:
    """RFC 6749 5.1."""
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ttl_s,
        "scope": API_SCOPE,
    }


def blocked_for(
    recent: Sequence[datetime], now: datetime, limit: int, window_s: float
) -> int | None:
    """Seconds until a try is allowed again, or None when it is allowed now. `recent` are
    the key's failures inside the window, newest first (as the patient page's limiter)."""
    if len(recent) < limit:
        return None
    frees_at = recent[limit - 1] + timedelta(seconds=window_s)
    return max(1, math.ceil((frees_at - now).total_seconds()))


def clean_name(name: str) -> str:
    """A client's name as shown to admins: trimmed, one line."""
    return " ".join(name.split())[:NAME_MAX]
