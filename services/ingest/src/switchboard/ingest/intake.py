"""Inbound messages, whatever the door (HTTP webhook, SMTP, the patient page): the steps in
order. Check the practice and line, parse (a channel adapter makes the channel-neutral
Inbound), store attachments, look up what the database knows (is the sender one patient's,
which email thread), build the MessageReceived (domain/received.py, the one place), publish.
The caller answers the provider only after `publish` returned, i.e. after Kafka's acks=all.

Who a sender is comes from an in-memory index fed by the log (ADR 0031), so an SMS or a
voicemail costs no database read. Intake depends only on Kafka (ADR 0008): the database
look-ups that remain (email threading; recognition until the index is loaded) go through a
breaker; when
the database is away the message is published as a MessageDeferred and ingest's own
consumer does the look-ups later (deferred.py), so the provider still gets its answer after
acks=all.

Refusals are domain/errors.py's: NotOurs 404 / SMTP 550, Invalid 422 / 550, TooLarge 413 /
552, Unavailable 503 / 451 (the sender retries; nothing is lost).
"""

from __future__ import annotations

import dataclasses
import functools
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.events import Attachment, MessageReceived
from switchboard.ingest.adapters import mail, queries, twilio
from switchboard.ingest.adapters.attachments import AttachmentStore
from switchboard.ingest.adapters.breaker import Breaker, Open
from switchboard.ingest.adapters.contact_owners import ContactOwners
from switchboard.ingest.adapters.media import fetch_media
from switchboard.ingest.adapters.publish import publish_messages
from switchboard.ingest.domain.contact_index import ContactIndex
from switchboard.ingest.domain.directory import Directory
from switchboard.ingest.domain.errors import Invalid, NotOurs, TooLarge, Unavailable, why
from switchboard.ingest.domain.inbound import Inbound
from switchboard.ingest.domain.received import message_received
from switchboard.ingest.settings import IngestSettings, Line, LineChannel
from switchboard.platform.kafka import Publisher
from switchboard.platform.logging import get_logger
from switchboard.rules import contacts

log = get_logger(__name__)


class Intake:
    def __init__(
        self,
        settings: IngestSettings,
        directory: Directory,
        store: AttachmentStore,
        sessionmaker: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        client: httpx.AsyncClient,
        index: ContactIndex | None = None,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.store = store
        self.sessionmaker = sessionmaker
        self.publisher = publisher
        self.client = client
        self.index = index
        self.owners = ContactOwners(sessionmaker)
        self.breaker = Breaker(settings.intake_db_timeout_s, settings.intake_db_retry_s)

    # -- the steps ---------------------------------------------------------------------------
    async def publish(
        self,
        events: Sequence[MessageReceived],
        started: float,
        deferred: Sequence[bool] = (),
    ) -> None:
        await publish_messages(self.publisher, events, started, deferred)

    def practice_line(self, practice_id: str, channel: LineChannel, address: str) -> Line:
        if practice_id not in self.directory.practices:
            raise NotOurs("no such practice")
        line = self.directory.line_of(practice_id, channel, address)
        if line is None:
            raise NotOurs(f"the number written to is not a {channel} line of this practice")
        return line

    async def recognized(self, practice_id: str, sender: str) -> bool | None:
        """Whether the sender's number is exactly one patient's (I-THREAD-1, I-UNREC-1);
        None when the database cannot say now (the message is deferred). The in-memory index
        answers once it is loaded (domain/contact_index.py): no database on this path."""
        if self.index is not None and self.index.ready:
            return contacts.recognized(self.index.owners(practice_id, sender))
        try:
            return contacts.recognized(
                await self.breaker.call(lambda: self.owners.count(practice_id, sender))
            )
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
        return await fetch_media(self.client, self.settings, url)

    # -- SMS / MMS -----------------------------------------------------------------------------
    async def sms(self, practice_id: str, params: Mapping[str, str]) -> MessageReceived:
        started = time.perf_counter()
        for name in ("MessageSid", "From", "To"):
            if not params.get(name, "").strip():
                raise Invalid(f"{name} is required")
        line = self.practice_line(practice_id, "sms", params["To"])
        try:
            inbound = twilio.sms_inbound(
                practice_id,
                params,
                datetime.now(UTC),
                self.settings.max_body_chars,
                line_label=line.label,
            )
        except ValueError as exc:
            raise Invalid(why(exc)) from None
        if inbound.attachments and self.settings.fetch_media:
            inbound = dataclasses.replace(inbound, attachments=tuple(await self._stored(inbound)))
        recognized = await self.recognized(practice_id, inbound.sender)
        event = _build(inbound, recognized=recognized)
        await self.publish([event], started, deferred=[recognized is None])
        return event

    async def _stored(self, inbound: Inbound) -> list[Attachment]:
        """The provider's media, fetched and kept in our store: the refs become ours."""
        out = []
        for a in inbound.attachments:
            data = await self.fetch_media(a.ref)
            ref = await self.store_bytes(inbound.practice_id, data, a.content_type)
            out.append(a.model_copy(update={"size_bytes": len(data), "ref": ref}))
        return out

    # -- voicemail -----------------------------------------------------------------------------
    async def voicemail(self, practice_id: str, params: Mapping[str, str]) -> MessageReceived:
        started = time.perf_counter()
        for name in ("RecordingSid", "From", "To"):
            if not params.get(name, "").strip():
                raise Invalid(f"{name} is required")
        line = self.practice_line(practice_id, "voice", params["To"])
        try:
            inbound = twilio.voicemail_inbound(
                practice_id,
                params,
                datetime.now(UTC),
                self.settings.max_body_chars,
                line_label=line.label,
            )
        except ValueError as exc:
            raise Invalid(why(exc)) from None
        recognized = await self.recognized(practice_id, inbound.sender)
        event = _build(inbound, recognized=recognized)
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
            inbound = mail.to_inbound(
                parsed,
                practice_id=practice_id,
                mailbox=line.address,
                via=via,
                received_at=received_at,
                body=body,
                attachments=tuple(attachments),
                line_label=line.label,
            )
            try:
                conversation: uuid.UUID | None = await self.breaker.call(
                    functools.partial(self._email_thread, inbound)
                )
                deferred.append(False)
            except Open as exc:
                # Provisional: the consumer finds the thread (deferred.py) before anyone
                # downstream sees the message.
                log.warning("threading_deferred", practice_id=practice_id, why=str(exc))
                conversation = None
                deferred.append(True)
            events.append(_build(inbound, conversation_id=conversation))
        await self.publish(events, started, deferred)
        return events

    async def _email_thread(self, inbound: Inbound) -> uuid.UUID:
        """The email's conversation, and the email recorded in it (I-THREAD-1)."""
        assert inbound.thread is not None  # an email always has its Message-ID
        async with self.sessionmaker() as session, session.begin():
            conversation = await queries.email_conversation(
                session,
                inbound.practice_id,
                inbound.thread.message_id,
                inbound.thread.ids,
                inbound.sender,
            )
            await queries.record_email(
                session,
                practice_id=inbound.practice_id,
                message_id=inbound.thread.message_id,
                conversation_id=conversation,
                direction="in",
                party=inbound.sender,
                subject=inbound.subject,
                at=inbound.received_at,
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

    # -- the patient page ----------------------------------------------------------------------
    async def patient_message(self, inbound: Inbound) -> MessageReceived:
        """A message the signed-in patient sent from the page: its conversation is the
        session's, nothing to look up."""
        event = _build(inbound)
        await self.publish([event], time.perf_counter())
        return event


def _build(
    inbound: Inbound, *, recognized: bool | None = None, conversation_id: uuid.UUID | None = None
) -> MessageReceived:
    try:
        return message_received(inbound, recognized=recognized, conversation_id=conversation_id)
    except ValueError as exc:
        raise Invalid(why(exc)) from None
