"""ingest settings (`SWITCHBOARD_*`).

SWITCHBOARD_LINES='[{"practice_id":"demo","channel":"sms","address":"+12125550000","label":"Main"}]'
    the practices' SMS lines, voicemail numbers and mailboxes (channel sms | voice | email)
SWITCHBOARD_TWILIO_AUTH_TOKEN          signs SMS, voicemail and status webhooks (required)
SWITCHBOARD_EMAIL_WEBHOOK_SECRET       signs raw email posted over HTTP (required)
SWITCHBOARD_LINK_SECRET                signs secure-email links and media URLs (required)
SWITCHBOARD_SMTP_LISTEN_PORT=2525      inbound mail (unset: no SMTP listener)
SWITCHBOARD_SMTP_RELAY_HOST / _PORT    outbound mail (unset: email replies fail, not configured)
SWITCHBOARD_SMS_API_BASE_URL           the SMS provider (Twilio's Messages resource shape)
SWITCHBOARD_ROUTER_URL / SWITCHBOARD_PM_SYNC_URL   reasons to offer / patient look-ups
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr

from switchboard.platform.secret_settings import (
    InternalCallers,
    Secret,
    SecretList,
    random_secret,
)
from switchboard.platform.settings import ServiceSettings

LineChannel = Literal["sms", "voice", "email"]


class Line(BaseModel):
    """A number or mailbox of a practice: SMS lines (I-LINE-1), voicemail numbers, mailboxes."""

    practice_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    channel: LineChannel
    address: str = Field(min_length=3, max_length=320)
    label: str | None = Field(default=None, max_length=80)


DEFAULT_LINES = [
    Line(practice_id="demo", channel="sms", address="+12125550000", label="Front desk"),
    Line(practice_id="demo", channel="sms", address="+12125550001", label="Billing"),
    Line(practice_id="demo", channel="voice", address="+12125550000", label="Main number"),
    Line(practice_id="demo", channel="email", address="front@demo.switchboard.test"),
    Line(practice_id="other", channel="sms", address="+13105550000", label="Front desk"),
    Line(practice_id="other", channel="email", address="front@other.switchboard.test"),
]


class IngestSettings(ServiceSettings):
    http_port: int = 8001
    # Shared secret the SMS provider signs webhooks with (Twilio's auth token), and Twilio's
    # secondary token while rotating: a signature by either is accepted.
    twilio_auth_token: Annotated[SecretStr, Secret()] = Field(default_factory=random_secret)
    twilio_secondary_auth_token: Annotated[SecretStr | None, Secret(required=False)] = None
    # The public base URL the provider posts to (signatures cover the full URL). When unset,
    # the URL the request arrived on is used. Also the base of status-callback and media URLs.
    public_base_url: str | None = None
    # Practices this deployment serves (besides those with lines); any other gets 404.
    practices: list[str] = ["demo"]
    lines: list[Line] = Field(default_factory=lambda: list(DEFAULT_LINES))
    max_body_chars: int = 20_000
    # A webhook publishes its one event and waits for acks=all: waiting to fill a batch only
    # adds latency (concurrent webhooks still share batches while one is in flight).
    producer_linger_ms: int = 0

    # Intake depends only on Kafka (ADR 0008): a database look-up on the intake path (is the
    # sender one patient's, which email thread) gets this long; after a failure look-ups
    # pause this long (the messages are deferred at once) before one is tried again.
    intake_db_timeout_s: float = Field(default=0.5, gt=0)
    intake_db_retry_s: float = Field(default=2.0, ge=0)
    # Overload: requests being handled at once on the provider-facing doors (webhooks, the
    # patient page, SMTP) before more are refused (429 with Retry-After, SMTP 421) instead
    # of queueing until the provider times out. 0: no limit.
    ingest_max_in_flight: int = Field(default=256, ge=0)
    ingest_retry_after_s: int = Field(default=1, ge=1)

    # Attachments: one store (filesystem here; S3-compatible in production).
    attachment_store: Literal["filesystem", "s3"] = "filesystem"
    attachment_dir: str = ".local/attachments"
    s3_endpoint_url: str | None = None
    s3_bucket: str = "switchboard-attachments"
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: Annotated[
        SecretStr | None, Secret(when=lambda s: s.attachment_store == "s3")
    ] = None
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_email_bytes: int = 30 * 1024 * 1024
    # Fetch MMS media into the store (with the SMS account's credentials when set).
    fetch_media: bool = True
    media_fetch_timeout_s: float = 10.0
    # Signed media URLs (outbound MMS) stay valid this long.
    media_url_ttl_s: int = 24 * 3600

    # Email in: raw RFC 5322 over HTTP (signed), and an SMTP listener.
    email_webhook_secret: Annotated[SecretStr, Secret(min_length=16)] = Field(
        default_factory=random_secret
    )
    email_webhook_max_skew_s: int = 300
    smtp_listen_host: str = "127.0.0.1"
    smtp_listen_port: int | None = 2525
    # Email out: the practice's relay. The host part of Message-IDs we create.
    smtp_relay_host: str | None = None
    smtp_relay_port: int = 25
    smtp_relay_username: str | None = None
    smtp_relay_password: Annotated[
        SecretStr | None, Secret(when=lambda s: bool(s.smtp_relay_host and s.smtp_relay_username))
    ] = None
    smtp_relay_starttls: bool = False
    smtp_timeout_s: float = 15.0
    mail_domain: str = "switchboard.invalid"

    # SMS out: the provider's REST API (Twilio's Messages resource).
    sms_api_base_url: str | None = None
    sms_account_sid: str = ""
    sms_auth_token: Annotated[SecretStr | None, Secret(when=lambda s: bool(s.sms_api_base_url))] = (
        None
    )
    sms_timeout_s: float = 10.0

    # Sending: attempts, backoff between them, the lease of a claimed send, concurrency.
    send_max_attempts: int = 6
    send_backoff_initial_s: float = 1.0
    send_backoff_max_s: float = 300.0
    send_lease_s: float = 60.0
    send_concurrency: int = 16
    # Woken by the ingest-replies consumer's commits and when its own retries come due; the
    # poll finds other replicas' rows (ten times less often after a quiet minute).
    dispatcher_poll_s: float = 1.0

    # The messenger / patient page: who is asked what, and the services it asks.
    router_url: str = "http://127.0.0.1:8002"
    pm_sync_url: str = "http://127.0.0.1:8005"
    # This service's credential to its peers' internal APIs (router, pm-sync), and the callers
    # its own internal API accepts ({"gateway": "<token>"}): both required in production.
    internal_token: Annotated[SecretStr | None, Secret(min_length=16)] = None
    internal_callers: Annotated[InternalCallers, Secret(min_length=16)] = {}
    internal_timeout_s: float = 5.0
    patient_page_url: str = "http://127.0.0.1:8001/patient"
    # Web origins allowed to call the patient page's API (a messenger on a practice's site).
    patient_page_origins: list[str] = []
    # The notice at the top of the patient page (X-PATIENTPAGE-1): the messenger is not for
    # emergencies. Set it where the local emergency number is not 911.
    patient_emergency_notice: str = (
        "If this is an emergency, call 911 or go to the nearest emergency room. "
        "Do not use this page for urgent medical needs."
    )
    # The notice in other languages the page speaks (X-LANG-1), {"es": "..."}; unset: the
    # built-in Spanish one (which names 911).
    patient_emergency_notices: dict[str, str] = {}
    # A practice's own reason names and descriptions per language (X-LANG-3):
    # {practice: {language: {reason code: {"label": ..., "description": ...}}}}. Unset: the
    # built-in Spanish for the default reasons; other reasons keep the router's words.
    reason_translations: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
    session_ttl_s: int = 3600
    secure_link_ttl_s: int = 30 * 24 * 3600
    verify_max_failures: int = 5
    verify_window_s: int = 900
    # Signs secure-email links and outbound media URLs (HMAC-SHA256).
    # Keys before it (rotation) still verify links and media URLs already sent.
    link_secret: Annotated[SecretStr, Secret(min_length=16)] = Field(default_factory=random_secret)
    link_previous_secrets: Annotated[SecretList, Secret(required=False)] = []
