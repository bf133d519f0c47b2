from __future__ import annotations

from switchboard.platform.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    http_port: int = 8001
    # Shared secret the SMS provider signs webhooks with (Twilio's auth token).
    twilio_auth_token: str = "dev-twilio-auth-token"  # noqa: S105
    # The public base URL the provider posts to (signatures cover the full URL). When unset,
    # the URL the request arrived on is used.
    public_base_url: str | None = None
    # Practices this deployment serves; a webhook for any other gets 404.
    practices: list[str] = ["demo"]
    max_body_chars: int = 20_000
