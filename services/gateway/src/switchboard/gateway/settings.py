from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from pydantic import Field, PrivateAttr, SecretStr

from switchboard.platform.secret_settings import Secret, SecretList, random_secret
from switchboard.platform.settings import ServiceSettings

# HS256 keys shorter than this are guessable offline from one token (RFC 7518 3.2: >= 256 bits).
JWT_MIN_LENGTH = 32


class GatewaySettings(ServiceSettings):
    http_port: int = 8000
    # Signs staff session tokens (SWITCHBOARD_JWT_SECRET; required in production).
    jwt_secret: Annotated[SecretStr, Secret(min_length=JWT_MIN_LENGTH)] = Field(
        default_factory=random_secret
    )
    # Rotation: the keys before it, accepted for verification only (never for signing) until
    # jwt_previous_until, or for one token lifetime after start-up when that is unset.
    jwt_previous_secrets: Annotated[
        SecretList, Secret(required=False, min_length=JWT_MIN_LENGTH)
    ] = []
    jwt_previous_until: datetime | None = None
    token_ttl_s: int = 12 * 3600
    # This service's credential to its peers' internal APIs (sent as a bearer token).
    internal_token: Annotated[SecretStr | None, Secret(min_length=16)] = None
    # The router's internal API (routing state, explanations, coverage, what-if).
    router_url: str = "http://127.0.0.1:8002"
    router_timeout_s: float = 60.0
    # How long an admin change waits for the router to apply it before answering 202.
    apply_wait_s: float = 5.0
    # pm-sync's internal API ("Sync with EHR"); scripts/up.sh derives it from the port base.
    pm_sync_url: str = "http://127.0.0.1:8005"
    pm_sync_timeout_s: float = 30.0
    # ingest's internal API (the practice's lines and their labels, lines.py).
    ingest_url: str = "http://127.0.0.1:8001"
    ingest_timeout_s: float = 5.0
    # The notifier's internal API (the practice's current notification settings).
    notifier_url: str = "http://127.0.0.1:8004"
    notifier_timeout_s: float = 5.0
    # Optional OIDC issuer (oidc.py): RS256 tokens verified against its JWKS, beside local users.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None  # default: <issuer>/.well-known/jwks.json
    oidc_algorithms: tuple[str, ...] = ("RS256",)
    oidc_practice_claim: str = "practice"
    oidc_role_claim: str = "role"
    oidc_policies_claim: str = "policies"
    # API clients (ADR 0024): how long a client credentials token lives, and how long a
    # replica may trust that a client is still active (a revocation on the same replica is
    # seen at once; on the others within this time).
    api_token_ttl_s: int = Field(default=900, ge=60, le=3600)
    api_client_check_s: float = Field(default=5.0, ge=0, le=30)
    # Failed staff sign-ins / client secret tries per username / client id before further
    # tries are refused (429) for the rest of the window (sign_in_limit.py).
    sign_in_failure_limit: int = Field(default=10, ge=1, le=100)
    sign_in_failure_window_s: float = Field(default=900, ge=60, le=86400)
    # How long a staff action waits for the inbox projection to apply it before 202.
    action_wait_s: float = 5.0

    # When these settings were read: without jwt_previous_until, previous keys are accepted
    # for one token lifetime from here (the restart that rotated the key).
    _loaded_at: float = PrivateAttr(default_factory=time.time)

    def jwt_verification_keys(self, now: float | None = None) -> list[str]:
        """The current key, then the previous ones while their grace period lasts."""
        now = time.time() if now is None else now
        keys = [self.jwt_secret.get_secret_value()]
        given = self.jwt_previous_until
        if given is not None and given.tzinfo is None:
            given = given.replace(tzinfo=UTC)  # a time without a zone is UTC, as in the docs
        until = given.timestamp() if given else self._loaded_at + self.token_ttl_s
        if now < until:
            keys += [k.get_secret_value() for k in self.jwt_previous_secrets]
        return keys
