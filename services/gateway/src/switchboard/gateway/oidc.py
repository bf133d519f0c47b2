"""Sign-in through an OIDC issuer instead of (or beside) local users.

With `oidc_issuer` set, a bearer token signed RS256 (or another asymmetric algorithm in
`oidc_algorithms`) by that issuer is verified against its JWKS (PyJWT's PyJWKClient, keys
cached) and mapped to a Principal: `sub` is the user id, and the practice, role and policies
come from the claims named in the settings. Local HS256 tokens keep working.
"""

from __future__ import annotations

import asyncio
from typing import Any

import jwt
from jwt import PyJWKClient

from switchboard.gateway.auth import POLICIES, ROLES, Principal
from switchboard.gateway.settings import GatewaySettings

_clients: dict[str, PyJWKClient] = {}


def jwks_client(url: str) -> PyJWKClient:
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = PyJWKClient(url, cache_keys=True, lifespan=300)
    return client


def is_oidc_token(token: str, settings: GatewaySettings) -> bool:
    if not settings.oidc_issuer:
        return False
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return False
    return header.get("alg") in settings.oidc_algorithms


def _verify(token: str, settings: GatewaySettings) -> dict[str, Any]:
    assert settings.oidc_issuer
    url = settings.oidc_jwks_url or settings.oidc_issuer.rstrip("/") + "/.well-known/jwks.json"
    key = jwks_client(url).get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=list(settings.oidc_algorithms),
        issuer=settings.oidc_issuer,
        audience=settings.oidc_audience,
        options={"require": ["exp", "sub", "iss"], "verify_aud": bool(settings.oidc_audience)},
    )
    return claims


async def read_oidc_token(token: str, settings: GatewaySettings) -> Principal | None:
    """The principal of a valid issuer token, or None (bad signature, expired, wrong
    issuer or audience, unknown role, JWKS unreachable)."""
    try:
        claims = await asyncio.to_thread(_verify, token, settings)
    except (jwt.PyJWTError, OSError):
        return None
    role = claims.get(settings.oidc_role_claim)
    practice = claims.get(settings.oidc_practice_claim)
    policies = claims.get(settings.oidc_policies_claim, [])
    if role not in ROLES or not isinstance(practice, str) or not practice:
        return None
    if not isinstance(policies, list):
        return None
    return Principal(
        user_id=str(claims["sub"]),
        practice_id=practice,
        role=str(role),
        policies=frozenset(str(p) for p in policies if p in POLICIES),
    )
