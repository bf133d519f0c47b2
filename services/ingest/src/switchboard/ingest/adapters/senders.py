"""Replies out: SMS/MMS through the provider's REST API (Twilio's Messages resource), email
through the practice's SMTP relay with threading headers. A sender says whether a reply went
out (with the provider's id), failed for good (`permanent`), or may be retried."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import aiosmtplib
import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.events import ReplyRequested
from switchboard.ingest.adapters import mail, queries
from switchboard.ingest.adapters.attachments import AttachmentStore
from switchboard.ingest.domain import links
from switchboard.ingest.domain.attachment_refs import AttachmentNotFound, practice_of
from switchboard.ingest.domain.language import Language
from switchboard.ingest.settings import IngestSettings
from switchboard.platform import sms_record

SECURE_SUBJECT = mail.secure_notice_subject()
# (practice, address) -> the language of a notice to it (X-LANG-5); never raises.
NoticeLanguage = Callable[[str, str], Awaitable[Language]]


async def _english(practice_id: str, address: str) -> Language:
    return "en"


@dataclass(frozen=True)
class OutboundItem:
    message_id: uuid.UUID
    practice_id: str
    conversation_id: uuid.UUID
    kind: str
    line: str
    to: str
    request: ReplyRequested
    attempts: int
    queued_at: datetime | None = None
    # An earlier attempt may have reached the provider (see sms_record.outcome_unknown).
    outcome_unknown: bool = False


@dataclass(frozen=True)
class SendResult:
    ok: bool
    provider_message_id: str | None = None
    why: str | None = None
    permanent: bool = False
    already_sent: bool = False  # not resent: the provider's record already had it


class Sender(Protocol):
    async def send(self, item: OutboundItem) -> SendResult: ...


def retryable_status(status: int) -> bool:
    return status >= 500 or status in (408, 409, 425, 429)


def public_base(settings: IngestSettings) -> str:
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    return f"http://{settings.http_host}:{settings.http_port}"


class SmsSender:
    def __init__(self, settings: IngestSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    async def send(self, item: OutboundItem) -> SendResult:
        s = self.settings
        if not s.sms_api_base_url:
            return SendResult(False, why="sms_not_configured", permanent=True)
        base = public_base(s)
        media = [
            links.media_url(s, base, a.ref, a.content_type or "application/octet-stream")
            if practice_of(a.ref)
            else a.ref
            for a in item.request.attachments
        ]
        data: dict[str, str | list[str]] = {
            "To": item.to,
            "From": item.line,
            "Body": item.request.body,
            "StatusCallback": f"{base}/webhooks/twilio/status/{item.practice_id}",
        }
        if media:
            data["MediaUrl"] = media
        base_url = s.sms_api_base_url.rstrip("/")
        url = f"{base_url}/2010-04-01/Accounts/{s.sms_account_sid}/Messages.json"
        token = s.sms_auth_token.get_secret_value() if s.sms_auth_token else ""
        if item.outcome_unknown:
            wanted = sms_record.Wanted(
                to=item.to,
                sender=item.line,
                body=item.request.body,
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
                # Sending blind could repeat the message: wait and look again.
                return SendResult(False, why=sms_record.UNREADABLE)
            if sid is not None:
                return SendResult(True, provider_message_id=sid, already_sent=True)
        try:
            r = await self.client.post(
                url,
                data=data,
                auth=(s.sms_account_sid, token),
                # The same key on every attempt, for a provider that honours one (Twilio
                # ignores it: hence the record lookup above).
                headers={"Idempotency-Key": str(item.message_id)},
                timeout=s.sms_timeout_s,
            )
        except httpx.HTTPError as exc:
            return SendResult(False, why=f"sms_{type(exc).__name__}")
        if 200 <= r.status_code < 300:
            try:
                sid = r.json().get("sid")
            except ValueError:
                sid = None
            return SendResult(True, provider_message_id=str(sid) if sid else None)
        retry = retryable_status(r.status_code)
        return SendResult(False, why=f"sms_http_{r.status_code}", permanent=not retry)


class EmailSender:
    def __init__(
        self,
        settings: IngestSettings,
        store: AttachmentStore,
        sessionmaker: async_sessionmaker[AsyncSession],
        client: httpx.AsyncClient,
        notice_language: NoticeLanguage = _english,
    ) -> None:
        self.settings = settings
        self.store = store
        self.sessionmaker = sessionmaker
        self.client = client
        self.notice_language = notice_language

    async def _attachment(self, ref: str) -> bytes:
        if practice_of(ref) is not None:
            return await self.store.get(ref)
        async with self.client.stream("GET", ref, timeout=self.settings.sms_timeout_s) as r:
            r.raise_for_status()
            data = b""
            async for chunk in r.aiter_bytes():
                data += chunk
                if len(data) > self.settings.max_attachment_bytes:
                    raise ValueError("attachment too large")
            return data

    async def message(self, item: OutboundItem) -> mail.EmailMessage:
        s = self.settings
        request = item.request
        own_id = mail.reply_message_id(item.message_id, s.mail_domain)
        async with self.sessionmaker() as session:
            parent, references, thread_subject = await queries.thread_headers(
                session, item.conversation_id, exclude=own_id
            )
        parts: list[mail.Part] = []
        if item.kind == "secure_notice":
            # Only a notice and a link: the text waits on the authenticated patient page.
            # covers X-LANG-5: in the language of the patients at this address
            language = await self.notice_language(item.practice_id, item.to)
            subject = mail.secure_notice_subject(language)
            link = links.secure_link(s, item.practice_id, item.message_id)
            body = mail.secure_notice_body(link, language)
        else:
            subject = mail.reply_subject(request.subject, thread_subject)
            body = request.body
            for a in request.attachments:
                data = await self._attachment(a.ref)
                parts.append(
                    mail.Part(a.filename, a.content_type or "application/octet-stream", data)
                )
        return mail.build_message(
            mail.Outgoing(
                message_id=own_id,
                sender=item.line,
                to=item.to,
                subject=subject,
                body=body,
                in_reply_to=parent,
                references=references,
                sent_at=datetime.now(UTC),
                attachments=tuple(parts),
            )
        )

    async def send(self, item: OutboundItem) -> SendResult:
        s = self.settings
        if not s.smtp_relay_host:
            return SendResult(False, why="email_not_configured", permanent=True)
        try:
            msg = await self.message(item)
        except AttachmentNotFound:
            return SendResult(False, why="attachment_missing", permanent=True)
        except (httpx.HTTPError, ValueError) as exc:
            return SendResult(False, why=f"attachment_{type(exc).__name__}")
        try:
            await aiosmtplib.send(
                msg,
                hostname=s.smtp_relay_host,
                port=s.smtp_relay_port,
                username=s.smtp_relay_username,
                password=(
                    s.smtp_relay_password.get_secret_value() if s.smtp_relay_password else None
                ),
                start_tls=s.smtp_relay_starttls,
                use_tls=False,
                timeout=s.smtp_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused:
            return SendResult(False, why="email_recipient_refused", permanent=True)
        except aiosmtplib.SMTPResponseException as exc:
            return SendResult(False, why=f"smtp_{exc.code}", permanent=500 <= exc.code < 600)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return SendResult(False, why=f"smtp_{type(exc).__name__}")
        return SendResult(True, provider_message_id=str(msg["Message-ID"]))
