from __future__ import annotations

from switchboard.platform.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    http_port: int = 8000
    # Signs staff session tokens. Must be set to a real secret outside local runs.
    jwt_secret: str = "dev-only-secret-change-me-0123456789abcdef"  # noqa: S105
    token_ttl_s: int = 12 * 3600
