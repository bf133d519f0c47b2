"""Staff identity: password hashing, signed tokens, roles and security policies (T-2)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from pydantic import SecretStr

from switchboard.platform.secret_settings import DEV_PLACEHOLDERS

ROLES_WITH_INBOX = {"practice_admin", "staff", "api_client"}
ROLES = ROLES_WITH_INBOX | {"no_inbox", "platform_operator"}
# inbox.reply_unrecognized: may answer an unrecognized sender where the practice allows it
# (X-UNREPLY-1, unrecognized_reply.py).
POLICIES = {"inbox.care_team", "inbox.full_patient", "inbox.api", "inbox.reply_unrecognized"}

_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    user_id: str
    practice_id: str
    role: str
    policies: frozenset[str]
    # An API client's token (api_clients.py): the secret version it was issued under.
    client_version: int | None = None

    @property
    def has_inbox(self) -> bool:
        return self.role in ROLES_WITH_INBOX

    @property
    def is_admin(self) -> bool:
        return self.role == "practice_admin"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except VerificationError:
        return False


def _key(secret: str | SecretStr) -> str:
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


def issue_token(p: Principal, secret: str | SecretStr, ttl_s: int, now: float | None = None) -> str:
    """Signed with the current key only (rotation: previous keys only verify)."""
    now = time.time() if now is None else now
    claims = {
        "sub": p.user_id,
        "practice": p.practice_id,
        "role": p.role,
        "policies": sorted(p.policies),
        "iat": int(now),
        "exp": int(now + ttl_s),
    }
    return jwt.encode(claims, _key(secret), algorithm="HS256")


def issue_client_token(
    client_id: str,
    practice_id: str,
    secret_version: int,
    secret: str | SecretStr,
    ttl_s: int,
    now: float | None = None,
) -> str:
    """An API client's bearer token: the Inbox API policy, and the client's secret version
    (a rotation or revocation ends it: checked per request)."""
    now = time.time() if now is None else now
    claims = {
        "sub": client_id,
        "practice": practice_id,
        "role": "api_client",
        "policies": ["inbox.api"],
        "client_version": secret_version,
        "iat": int(now),
        "exp": int(now + ttl_s),
    }
    return jwt.encode(claims, _key(secret), algorithm="HS256")


def read_token(token: str, secret: str | SecretStr | Sequence[str | SecretStr]) -> Principal | None:
    """The principal of a token signed by any of the keys (current first, then previous
    ones during rotation). A key that was ever a public default never verifies anything."""
    keys = [secret] if isinstance(secret, str | SecretStr) else list(secret)
    claims = None
    for key in (_key(k) for k in keys):
        if key in DEV_PLACEHOLDERS:
            continue
        try:
            claims = jwt.decode(
                token, key, algorithms=["HS256"], options={"require": ["exp", "sub"]}
            )
            break
        except jwt.InvalidSignatureError:
            continue  # maybe the previous key
        except jwt.PyJWTError:
            return None
    if claims is None:
        return None
    return Principal(
        user_id=claims["sub"],
        practice_id=claims["practice"],
        role=claims["role"],
        policies=frozenset(claims.get("policies", ())),
        client_version=_version(claims.get("client_version")),
    )


def _version(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
