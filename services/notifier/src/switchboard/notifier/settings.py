"""notifier settings (`SWITCHBOARD_*`).

SWITCHBOARD_APP_BASE_URL=https://switchboard.example   links in email, SMS and webhooks
SWITCHBOARD_SMTP_HOST=mail.example  SWITCHBOARD_SMTP_PORT=587   (unset host = no email)
SWITCHBOARD_SMTP_FROM=alerts@example  SWITCHBOARD_SMTP_STARTTLS=true
SWITCHBOARD_SMTP_USERNAME / SWITCHBOARD_SMTP_PASSWORD
SWITCHBOARD_SMS_API_BASE_URL=https://api.twilio.com   (unset = no SMS)
SWITCHBOARD_SMS_ACCOUNT_SID / SWITCHBOARD_SMS_AUTH_TOKEN / SWITCHBOARD_SMS_FROM
SWITCHBOARD_INTERNAL_CALLERS='{"gateway": "..."}'   who may call /internal/* (required)
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr

from switchboard.platform.secret_settings import InternalCallers, Secret
from switchboard.platform.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    http_port: int = 8004
    # The callers its internal API accepts, each with its token(s): required in production.
    internal_callers: Annotated[InternalCallers, Secret(min_length=16)] = {}

    # Base of the absolute links in email, SMS and webhook alerts (the gateway's UI).
    app_base_url: str = "http://127.0.0.1:8000"

    # Email over SMTP. No host: email alerts fail with `email_not_configured`.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "alerts@switchboard.invalid"
    smtp_username: str | None = None
    smtp_password: Annotated[
        SecretStr | None, Secret(when=lambda s: bool(s.smtp_host and s.smtp_username))
    ] = None
    smtp_starttls: bool = False
    smtp_timeout_s: float = 10.0

    # SMS through the provider's REST API (Twilio's Messages resource shape).
    sms_api_base_url: str | None = None
    sms_account_sid: str = ""
    sms_auth_token: Annotated[SecretStr | None, Secret(when=lambda s: bool(s.sms_api_base_url))] = (
        None
    )
    sms_from: str | None = None
    sms_timeout_s: float = 10.0

    # Webhooks: per request timeout, alerts per signed request, requests in flight per endpoint.
    webhook_timeout_s: float = 5.0
    webhook_batch_max: int = 50
    endpoint_concurrency: int = 4

    # Every external send: attempts before giving up, and the backoff between them (an
    # endpoint that fails is paused for the backoff; other endpoints are unaffected).
    send_max_attempts: int = 6
    send_backoff_initial_s: float = 1.0
    send_backoff_max_s: float = 300.0
    # A claimed alert whose sender died is claimed again after this lease.
    send_lease_s: float = 60.0
    # Woken by the notifier consumer's commits and when its own retries come due; the poll
    # finds other replicas' rows (ten times less often after a quiet minute: platform/idle.py).
    dispatcher_poll_s: float = 1.0
    dispatcher_max_inflight: int = 400

    # Event webhooks (the public stream to practices' endpoints, ADR 0022): per request
    # timeout, requests in flight per endpoint (one per conversation at most), the backoff of
    # a failed delivery (retried until delivered, in order), failures in a row that pause an
    # endpoint, how often due deliveries are looked for, and how many are claimed at once.
    event_webhook_timeout_s: float = 5.0
    event_webhook_concurrency: int = 4
    event_webhook_backoff_initial_s: float = 1.0
    event_webhook_backoff_max_s: float = 600.0
    event_webhook_pause_after: int = 20
    event_webhook_poll_s: float = 1.0
    event_webhook_claim_max: int = 200

    # Retention of the public stream's copy (public_retention.py): events older than this
    # many days are deleted (unless an endpoint has still to receive them), in batches, every
    # public_events_prune_every_s. 30 days: as long as the public.content topic keeps them.
    public_events_retention_days: int = Field(default=30, ge=1, le=3650)
    public_events_prune_batch: int = Field(default=1000, ge=1, le=100_000)
    public_events_prune_every_s: float = Field(default=3600.0, ge=1.0)

    # Response timers: how often due timers are looked for (ten times less often after a quiet
    # minute, never past the soonest pending one), and how many fire per transaction.
    timer_poll_s: float = 1.0
    timer_batch_max: int = 100

    # Routing decisions older than this (by their decided_at) alert nobody and start no timer:
    # a notifier replaying an old log must not page staff about last month's messages.
    alert_max_age_s: float = 24 * 3600
