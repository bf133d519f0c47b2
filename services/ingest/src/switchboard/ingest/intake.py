"""Inbound messages, whatever the door (HTTP webhook or SMTP): check, normalise, store
attachments, find the thread, publish. The caller answers the provider only after
`publish` returned, i.e. after Kafka's acks=all.

Intake depends only on Kafka (ADR 0008): the database look-ups (is the sender one patient's,
which email thread) go through a breaker; when the database is away the message is
published as a MessageDeferred and ingest's own consumer does the look-ups later
(deferred.py), so the provider still gets its answer after acks=all.

Errors name the problem and map to an answer: NotOurs 404 / SMTP 550, Invalid 422 / 550,
TooLarge 413 / 552, Unavailable 503 / 451 (the sender retries; nothing is lost).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import httpx
from prometheus_client import Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.events import (
    Attachment,
    EmailThreading,
    Event,
    MessageDeferred,
    MessageReceived,
    deterministic_id,
)
from switchboard.ingest.adapters import mail, queries, twilio
from switchboard.ingest.adapters.attachments import AttachmentStore
from switchboard.ingest.adapters.breaker import Breaker, Open
from switchboard.ingest.domain.directory import Directory
from switchboard.ingest.settings import IngestSettings, Line, LineChannel
from switchboard.platform.kafka import Publisher, PublishError
from switchboard.platform.logging import get_logger
from switchboard.platform.telemetry import current_traceparent

log = get_logger(__name__)

ACCEPTED = Counter("switchboard_ingest_messages_total", "Inbound messages accepted", ["channel"])
REJECTED = Counter("switchboard_ingest_rejected_total", "Inbound messages refused", ["why"])
ACK_SECONDS = Histogram(
    "switchboard_ingest_publish_seconds",
    "Time from receipt to Kafka's acks=all",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
DEFERRED = Counter(
    "switchboard_ingest_deferred_total",
    "Inbound messages accepted with their look-ups deferred (database away)",
    ["channel"],
)


class IntakeError(Exception):
    status = 400
    smtp = "550 5.6.0"

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class NotOurs(IntakeError):
    status = 404
    smtp = "550 5.1.1"


class Invalid(IntakeError):
    status = 422
    smtp = "550 5.6.0"


class TooLarge(IntakeError):
    status = 413
    smtp = "552 5.3.4"


class Unavailable(IntakeError):
    status = 503
    smtp = "451 4.3.0"


class ContactOwners:
    """How many patients use a phone or email, asked for many webhooks at once: the look-ups
    that arrive while one query runs go together in the next, so a burst of webhooks costs a
    few queries and one pooled connection, not one of each per webhook."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self.pending: dict[tuple[str, str], list[asyncio.Future[int]]] = {}
        self.running = False
        self.task: asyncio.Task[None] | None = None

    async def count(self, practice_id: str, contact: str) -> int:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.pending.setdefault((practice_id, queries.contact_key(contact)), []).append(future)
        if not self.running:
            self.running = True
            self.task = asyncio.create_task(self._drain())  # ends when nothing waits
        return await future

    async def _drain(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending, {}
                try:
                    async with self.sessionmaker() as session:
                        counts = await queries.contact_owner_counts(session, list(batch))
                except Exception as exc:
                    for futures in batch.values():
                        for f in futures:
                            if not f.done():
                                f.set_exception(exc)
                    continue
                for key, futures in batch.items():
                    for f in futures:
                        if not f.done():
                            f.set_result(counts.get(key, 0))
        finally:
            self.running = False


def _provider_id(value: str) -> str:
    """Provider ids go in events as given, unless longer than the field allows."""
    return value if len(value) <= 256 else "sha256:" + hashlib.sha256(value.encode()).hexdigest()


class Intake:
    def __init__(
        self,
        settings: IngestSettings,
        directory: Directory,
        store: AttachmentStore,
        sessionmaker: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        client: httpx.AsyncClient,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.store = store
        self.sessionmaker = sessionmaker
        self.publisher = publisher
        self.client = client
        self.owners = ContactOwners(sessionmaker)
        self.breaker = Breaker(settings.intake_db_timeout_s, settings.intake_db_retry_s)

    # -- shared ------------------------------------------------------------------------------
    async def publish(
        self,
        events: Sequence[MessageReceived],
        started: float,
        deferred: Sequence[bool] = (),
    ) -> None:
        """Publish (acks=all) each event, or, where `deferred` says so, a MessageDeferred
        carrying it: its look-ups are done after the log (ADR 0008)."""
        trace = current_traceparent()
        events = [e.model_copy(update={"traceparent": trace}) for e in events]
        records: list[Event] = [
            _deferred(e) if i < len(deferred) and deferred[i] else e for i, e in enumerate(events)
        ]
        try:
            await self.publisher.publish(records)
        except PublishError as exc:
            REJECTED.labels("kafka_unavailable").inc()
            log.error("publish_failed", error=str(exc), count=len(events))
            raise Unavailable("message store unavailable, retry later") from None
        for e, r in zip(events, records, strict=True):
            if r is not e:
                DEFERRED.labels(e.channel).inc()
            ACCEPTED.labels(e.channel).inc()
            ACK_SECONDS.labels(e.channel).observe(time.perf_counter() - started)
            log.info(
                "message_accepted",
                practice_id=e.practice_id,
                channel=e.channel,
                event_id=str(e.event_id),
                attachments=len(e.attachments),
                deferred=r is not e,
            )

    def practice_line(self, practice_id: str, channel: LineChannel, address: str) -> Line:
        if practice_id not in self.directory.practices:
            raise NotOurs("no such practice")
        line = self.directory.line_of(practice_id, channel, address)
        if line is None:
            raise NotOurs(f"the number written to is not a {channel} line of this practice")
        return line

    async def recognized(self, practice_id: str, sender: str) -> bool | None:
        """Whether the sender's number is exactly one patient's (I-THREAD-1, I-UNREC-1);
        None when the database cannot say now (the message is deferred)."""
        try:
            return await self.breaker.call(lambda: self.owners.count(practice_id, sender)) == 1
        except Open as exc:
            log.warning("recognition_deferred", practice_id=practice_id, why=str(exc))
            return None

    async def store_bytes(self, practice_id: str, data: bytes, content_type: str) -> str:
        if len(data) > self.settings.max_attachment_bytes:
            raise TooLarge(f"an attachment is over {self.settings.max_attachment_bytes} bytes")
        try:
            return await self.store.put(practice_id, data, content_type)
        except (OSError, httpx.HTTPError) as exc:
            raise Unavailable(f"attachment store unavailable: {type(exc).__name__}") from None

    async def fetch_media(self, url: str) -> bytes:
        s = self.settings
        auth = None
        if s.sms_account_sid and s.sms_auth_token:
            auth = (s.sms_account_sid, s.sms_auth_token.get_secret_value())
        limit = s.max_attachment_bytes
        try:
            async with self.client.stream(
                "GET", url, auth=auth, timeout=s.media_fetch_timeout_s, follow_redirects=True
            ) as r:
                if r.status_code != 200:
                    raise Unavailable(f"media could not be fetched: HTTP {r.status_code}")
                declared = r.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise TooLarge(f"an attachment is over {limit} bytes")
                chunks, size = [], 0
                async for chunk in r.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(f"an attachment is over {limit} bytes")
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise Unavailable(f"media could not be fetched: {type(exc).__name__}") from None
        return b"".join(chunks)

    # -- SMS / MMS -----------------------------------------------------------------------------
    async def sms(self, practice_id: str, params: Mapping[str, str]) -> MessageReceived:
        started = time.perf_counter()
        for name in ("MessageSid", "From", "To"):
            if not params.get(name, "").strip():
                raise Invalid(f"{name} is required")
        line = self.practice_line(practice_id, "sms", params["To"])
        try:
            media = twilio.media_of(params)
        except twilio.InvalidWebhook as exc:
            raise Invalid(str(exc)) from None
        attachments: list[Attachment] | None = None
        if media and self.settings.fetch_media:
            sid = params["MessageSid"].strip()
            attachments = []
            for m in media:
                data = await self.fetch_media(m.url)
                ref = await self.store_bytes(practice_id, data, m.content_type)
                attachments.append(
                    Attachment(
                        attachment_id=f"{sid}-{m.index}",
                        content_type=m.content_type,
                        size_bytes=len(data),
                        ref=ref,
                    )
                )
        recognized = await self.recognized(practice_id, params["From"].strip())
        try:
            event = twilio.to_event(
                practice_id,
                params,
                datetime.now(UTC),
                self.settings.max_body_chars,
                recognized=bool(recognized),
                line_label=line.label,
                attachments=attachments,
            )
        except (twilio.InvalidWebhook, ValueError) as exc:
            raise Invalid(_why(exc)) from None
        await self.publish([event], started, deferred=[recognized is None])
        return event

    # -- voicemail -----------------------------------------------------------------------------
    async def voicemail(self, practice_id: str, params: Mapping[str, str]) -> MessageReceived:
        started = time.perf_counter()
        for name in ("RecordingSid", "From", "To"):
            if not params.get(name, "").strip():
                raise Invalid(f"{name} is required")
        line = self.practice_line(practice_id, "voice", params["To"])
        recognized = await self.recognized(practice_id, params["From"].strip())
        try:
            event = twilio.voicemail_event(
                practice_id,
                params,
                datetime.now(UTC),
                self.settings.max_body_chars,
                recognized=bool(recognized),
                line_label=line.label,
            )
        except (twilio.InvalidWebhook, ValueError) as exc:
            raise Invalid(_why(exc)) from None
        await self.publish([event], started, deferred=[recognized is None])
        return event

    # -- email ---------------------------------------------------------------------------------
    async def email(
        self, raw: bytes, envelope_recipients: Sequence[str] = (), via: str = "http"
    ) -> list[MessageReceived]:
        """One inbound mail: a MessageReceived per practice whose mailbox it was sent to."""
        started = time.perf_counter()
        if len(raw) > self.settings.max_email_bytes:
            raise TooLarge(f"the message is over {self.settings.max_email_bytes} bytes")
        try:
            parsed = mail.parse_email(raw, self.settings.max_attachment_bytes)
        except mail.AttachmentTooLarge as exc:
            raise TooLarge(str(exc)) from None
        except mail.InvalidEmail as exc:
            raise Invalid(str(exc)) from None
        lines: dict[str, Line] = {}
        for address in [*envelope_recipients, *parsed.recipients]:
            line = self.directory.find("email", address)
            if line is not None:
                lines.setdefault(line.practice_id, line)
        if not lines:
            raise NotOurs("no recipient is a mailbox of a practice")
        received_at = datetime.now(UTC)
        subject = (parsed.subject or "")[:998] or None
        events, deferred = [], []
        for practice_id, line in lines.items():
            attachments = await self._email_attachments(practice_id, parsed)
            body = parsed.text
            if len(body) > self.settings.max_body_chars:
                # The whole text stays readable as an attachment; the event carries the start.
                ref = await self.store_bytes(practice_id, body.encode(), "text/plain")
                attachments.append(
                    Attachment(
                        attachment_id="body-text",
                        content_type="text/plain; charset=utf-8",
                        size_bytes=len(body.encode()),
                        filename="message.txt",
                        ref=ref,
                    )
                )
                body = body[: self.settings.max_body_chars]
            event_id = deterministic_id(practice_id, "email", parsed.message_id)
            try:
                conversation = await self.breaker.call(
                    functools.partial(self._email_thread, practice_id, parsed, subject, received_at)
                )
                deferred.append(False)
            except Open as exc:
                # Provisional: the consumer finds the thread (deferred.py) before anyone
                # downstream sees the message.
                log.warning("threading_deferred", practice_id=practice_id, why=str(exc))
                conversation = event_id
                deferred.append(True)
            try:
                events.append(
                    MessageReceived(
                        event_id=event_id,
                        occurred_at=received_at,
                        practice_id=practice_id,
                        correlation_id=event_id,
                        message_id=event_id,
                        conversation_id=conversation,
                        channel="email",
                        sender=parsed.sender,
                        recipient=line.address.lower(),
                        provider=f"email-{via}",
                        provider_message_id=_provider_id(parsed.message_id),
                        received_at=received_at,
                        body=body,
                        subject=subject,
                        attachments=tuple(attachments),
                        email_threading=EmailThreading(
                            message_id=parsed.message_id,
                            in_reply_to=parsed.in_reply_to,
                            references=parsed.references,
                        ),
                        line_label=line.label,
                    )
                )
            except ValueError as exc:
                raise Invalid(_why(exc)) from None
        await self.publish(events, started, deferred)
        return events

    async def _email_thread(
        self, practice_id: str, parsed: mail.ParsedEmail, subject: str | None, at: datetime
    ) -> uuid.UUID:
        """The email's conversation, and the email recorded in it (I-THREAD-1)."""
        async with self.sessionmaker() as session, session.begin():
            conversation = await queries.email_conversation(
                session, practice_id, parsed.message_id, parsed.thread_ids, parsed.sender
            )
            await queries.record_email(
                session,
                practice_id=practice_id,
                message_id=parsed.message_id,
                conversation_id=conversation,
                direction="in",
                party=parsed.sender,
                subject=subject,
                at=at,
            )
        return conversation

    async def _email_attachments(
        self, practice_id: str, parsed: mail.ParsedEmail
    ) -> list[Attachment]:
        out = []
        parts = list(parsed.attachments)
        if parsed.html:
            # The HTML body is kept as sent, for a client that shows it (sanitised there).
            parts.insert(0, mail.Part("message.html", "text/html", parsed.html.encode()))
        for i, part in enumerate(parts):
            ref = await self.store_bytes(practice_id, part.data, part.content_type)
            out.append(
                Attachment(
                    attachment_id=f"part-{i}",
                    content_type=part.content_type,
                    size_bytes=len(part.data),
                    filename=(part.filename or None) and part.filename[:255],
                    ref=ref,
                )
            )
        return out


def _deferred(message: MessageReceived) -> MessageDeferred:
    deferred: MessageDeferred = MessageDeferred.derive(
        message,
        event_id=deterministic_id(message.event_id, "deferred"),
        occurred_at=message.occurred_at,
        message=message,
    )
    return deferred


def _why(exc: Exception) -> str:
    """A validation error as field names and kinds, never the values (patient data)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['type']}" for e in errors())
        except Exception:  # noqa: S110
            pass
    return str(exc)[:200]
