"""Staff identity: password hashing, signed tokens, roles and security policies (T-2)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

ROLES_WITH_INBOX = {"practice_admin", "staff", "api_client"}
ROLES = ROLES_WITH_INBOX | {"no_inbox", "platform_operator"}
POLICIES = {"inbox.care_team", "inbox.full_patient", "inbox.api"}

_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    user_id: str
    practice_id: str
    role: str
    policies: frozenset[str]

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


def issue_token(p: Principal, secret: str, ttl_s: int, now: float | None = None) -> str:
    now = time.time() if now is None else now
    claims = {
        "sub": p.user_id,
        "practice": p.practice_id,
        "role": p.role,
        "policies": sorted(p.policies),
        "iat": int(now),
        "exp": int(now + ttl_s),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def read_token(token: str, secret: str) -> Principal | None:
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError:
        return None
    return Principal(
        user_id=claims["sub"],
        practice_id=claims["practice"],
        role=claims["role"],
        policies=frozenset(claims.get("policies", ())),
    )
