from __future__ import annotations

from switchboard.platform.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    http_port: int = 8000
    # Signs staff session tokens. Must be set to a real secret outside local runs.
    jwt_secret: str = "dev-only-secret-change-me-0123456789abcdef"  # noqa: S105
    token_ttl_s: int = 12 * 3600
    # The peers' internal APIs (their internal listener) get SWITCHBOARD_INTERNAL_TOKEN,
    # the gateway's own credential, as a bearer token (internal_api.py).
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
    # How long a staff action waits for the inbox projection to apply it before 202.
    action_wait_s: float = 5.0
