"""The external channels: email over SMTP, SMS through the provider's REST API, signed
webhooks. A sender takes alerts that share one endpoint and says, for each, whether it went
out, failed for good (`permanent`), or may be retried. Alerts carry no patient data: a
reason code and a link, never a name, number or message text."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Protocol

import aiosmtplib
import httpx

from switchboard.notifier.model import Webhook
from switchboard.notifier.settings import NotifierSettings
from switchboard.platform import sms_record
from switchboard.rules.signing import signed_headers

HEADLINES = {
    "message": "A new patient message is waiting for you",
    "orphan": "A patient message reached nobody available",
    "escalation": "A patient conversation is past its response target",
    "mention": "A colleague mentioned you in a note",
}


@dataclass(frozen=True)
class OutboxItem:
    alert_id: uuid.UUID
    practice_id: str
    channel: str
    endpoint_key: str
    address: str
    alert: dict[str, Any]
    attempts: int
    queued_at: datetime | None = None
    # An earlier attempt may have reached the provider (see sms_record.outcome_unknown).
    outcome_unknown: bool = False


@dataclass(frozen=True)
class SendResult:
    alert_id: uuid.UUID
    ok: bool
    why: str | None = None
    permanent: bool = False
    already_sent: bool = False  # not resent: the provider's record already had it


class Sender(Protocol):
    batch_max: int

    async def send(self, items: list[OutboxItem]) -> list[SendResult]: ...


def absolute_link(settings: NotifierSettings, link: str) -> str:
    return settings.app_base_url.rstrip("/") + link


def alert_text(settings: NotifierSettings, alert: dict[str, Any]) -> str:
    reason = alert.get("routing_reason")
    lines = [HEADLINES.get(alert.get("kind", ""), HEADLINES["message"])]
    if reason:
        lines.append(f"Reason: {reason}")
    if alert.get("substitute_for"):
        lines.append(f"You are covering for {alert['substitute_for']}.")
    lines.append(f"Open: {absolute_link(settings, alert['link'])}")
    return "\n".join(lines)


def _retryable_status(status: int) -> bool:
    return status >= 500 or status in (408, 425, 429)


class EmailSender:
    batch_max = 1

    def __init__(self, settings: NotifierSettings) -> None:
        self.settings = settings

    def message(self, item: OutboxItem) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.settings.smtp_from
        msg["To"] = item.address
        msg["Subject"] = f"Switchboard: {HEADLINES.get(item.alert.get('kind', ''), 'Alert')}"
        # Derived from the alert id: a receiving system can drop a duplicate delivery.
        msg["Message-ID"] = f"<{item.alert_id}@switchboard.alerts>"
        msg["X-Switchboard-Alert-Id"] = str(item.alert_id)
        msg.set_content(alert_text(self.settings, item.alert) + "\n")
        return msg

    async def send(self, items: list[OutboxItem]) -> list[SendResult]:
        s = self.settings
        out = []
        for item in items:
            if not s.smtp_host:
                out.append(SendResult(item.alert_id, False, "email_not_configured", True))
                continue
            try:
                await aiosmtplib.send(
                    self.message(item),
                    hostname=s.smtp_host,
                    port=s.smtp_port,
                    username=s.smtp_username,
                    password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                    start_tls=s.smtp_starttls,
                    use_tls=False,
                    timeout=s.smtp_timeout_s,
                )
                out.append(SendResult(item.alert_id, True))
            except aiosmtplib.SMTPRecipientsRefused:
                out.append(SendResult(item.alert_id, False, "email_recipient_refused", True))
            except aiosmtplib.SMTPResponseException as exc:
                permanent = 500 <= exc.code < 600
                out.append(SendResult(item.alert_id, False, f"smtp_{exc.code}", permanent))
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                out.append(SendResult(item.alert_id, False, f"smtp_{type(exc).__name__}"))
        return out


class SmsSender:
    """Twilio's Messages resource: POST {base}/2010-04-01/Accounts/{sid}/Messages.json."""

    batch_max = 1

    def __init__(self, settings: NotifierSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    async def send(self, items: list[OutboxItem]) -> list[SendResult]:
        s = self.settings
        out = []
        for item in items:
            if not s.sms_api_base_url or not s.sms_from:
                out.append(SendResult(item.alert_id, False, "sms_not_configured", True))
                continue
            url = (
                f"{s.sms_api_base_url.rstrip('/')}/2010-04-01/Accounts/"
                f"{s.sms_account_sid}/Messages.json"
            )
            token = s.sms_auth_token.get_secret_value() if s.sms_auth_token else ""
            body = alert_text(s, item.alert)
            if item.outcome_unknown:
                wanted = sms_record.Wanted(
                    to=item.address,
                    sender=s.sms_from,
                    body=body,
                    since=item.queued_at or datetime.now(UTC),
                )
                try:
                    sid = await sms_record.find_sent(
                        self.client,
                        s.sms_api_base_url,
                        s.sms_account_sid,
                        token,
                        wanted,
                        s.sms_timeout_s,
                    )
                except sms_record.LookupFailed:
                    # Sending blind could repeat the alert: wait and look again.
                    out.append(SendResult(item.alert_id, False, sms_record.UNREADABLE))
                    continue
                if sid is not None:
                    out.append(SendResult(item.alert_id, True, already_sent=True))
                    continue
            try:
                r = await self.client.post(
                    url,
                    data={"To": item.address, "From": s.sms_from, "Body": body},
                    auth=(s.sms_account_sid, token),
                    headers={"Idempotency-Key": str(item.alert_id)},
                    timeout=s.sms_timeout_s,
                )
            except httpx.HTTPError as exc:
                out.append(SendResult(item.alert_id, False, f"sms_{type(exc).__name__}"))
                continue
            if 200 <= r.status_code < 300:
                out.append(SendResult(item.alert_id, True))
            else:
                retry = _retryable_status(r.status_code)
                out.append(SendResult(item.alert_id, False, f"sms_http_{r.status_code}", not retry))
        return out


WebhookLookup = Callable[[str, str], Awaitable[Webhook | None]]


def webhook_body(settings: NotifierSettings, items: list[OutboxItem], sent_at: int) -> bytes:
    alerts = []
    for item in items:
        a = item.alert
        alerts.append(
            {
                "alert_id": a["alert_id"],
                "practice_id": a["practice_id"],
                "kind": a["kind"],
                "staff_id": a["staff_id"],
                "why": a["why"],
                "substitute_for": a.get("substitute_for"),
                "conversation_id": a["conversation_id"],
                "message_id": a.get("message_id"),
                "routing_reason": a.get("routing_reason"),
                "link": a["link"],
                "url": absolute_link(settings, a["link"]),
            }
        )
    return json.dumps(
        {"type": "switchboard.alerts", "sent_at": sent_at, "alerts": alerts},
        separators=(",", ":"),
    ).encode()


def idempotency_key(items: list[OutboxItem]) -> str:
    """The same for every attempt of the same alerts: the alert id for one alert, a name
    derived from the sorted alert ids for a batch. A retry may batch alerts differently,
    so subscribers should also drop an `alert_id` they have already handled."""
    ids = sorted(str(i.alert_id) for i in items)
    if len(ids) == 1:
        return ids[0]
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "switchboard-alerts:" + ",".join(ids)))


class WebhookSender:
    """Several alerts for one endpoint go in one signed request (`alerts` is a list), with
    an `Idempotency-Key` header that stays the same when the same alerts are sent again."""

    def __init__(
        self,
        settings: NotifierSettings,
        client: httpx.AsyncClient,
        lookup: WebhookLookup,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.client = client
        self.lookup = lookup
        self.now = now
        self.batch_max = settings.webhook_batch_max

    async def send(self, items: list[OutboxItem]) -> list[SendResult]:
        first = items[0]
        hook = await self.lookup(first.practice_id, first.address)
        if hook is None:
            return [SendResult(i.alert_id, False, "webhook_removed", True) for i in items]
        timestamp = int(self.now())
        body = webhook_body(self.settings, items, timestamp)
        headers = {
            "content-type": "application/json",
            "user-agent": "switchboard-notifier",
            "idempotency-key": idempotency_key(items),
            **signed_headers(hook.secret, timestamp, body),
        }
        try:
            r = await self.client.post(
                hook.url, content=body, headers=headers, timeout=self.settings.webhook_timeout_s
            )
        except (TimeoutError, httpx.HTTPError) as exc:
            why = (
                "webhook_timeout"
                if isinstance(exc, httpx.TimeoutException)
                else (f"webhook_{type(exc).__name__}")
            )
            return [SendResult(i.alert_id, False, why) for i in items]
        if 200 <= r.status_code < 300:
            return [SendResult(i.alert_id, True) for i in items]
        retry = _retryable_status(r.status_code)
        return [
            SendResult(i.alert_id, False, f"webhook_http_{r.status_code}", not retry) for i in items
        ]
