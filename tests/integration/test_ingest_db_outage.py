"""Intake depends only on Kafka (ADR 0008): with ingest's database refusing connections,
SMS, voicemail and email webhooks and SMTP are still acknowledged after Kafka's acks=all.
SMS and voicemail are threaded at once from the in-memory contact index (ADR 0031: no
database read on their path); email waits for the database (deferred). Once it is back every
message ends in the conversation, with the patient, it would have had (the real router
decides; the inbox places a message by its MessageReceived's conversation id).

The outage is real: the module's own database stops accepting connections
(ALLOW_CONNECTIONS false, sessions terminated); the shared server keeps running."""

from __future__ import annotations

import asyncio
import contextlib
import os
import smtplib
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from ingest_support import JsonServer, own_database, prepare, running_ingest
from notifier_support import TopicReader, eventually, free_port
from router_process import RouterProcess
from sqlalchemy import create_engine, select, text

from switchboard.events import PatientUpserted, RoutingSettingsChanged, Topic, deterministic_id
from switchboard.ingest.adapters import storage
from switchboard.ingest.adapters.twilio import signature
from switchboard.ingest.domain.received import sms_conversation_id, thread_id
from switchboard.ingest.settings import IngestSettings, Line
from switchboard.platform.internal_api import settings_update
from switchboard.rules.signing import signed_headers

pytestmark = pytest.mark.integration

P = f"outage-{uuid.uuid4().hex[:6]}"
MAIN = "+12125550000"
MAILBOX = f"front@{P}.test"
JANE_PHONE = "+12125550101"
JANE_MAIL = "jdoe@home.test"
STRANGER = "+12125550199"
TOKEN = "it-twilio-token"
EMAIL_SECRET = "it-email-webhook-secret"
PG_PORT = int(os.environ.get("PG_PORT", "55432"))


def env(**kw: Any) -> dict[str, Any]:
    eid = uuid.uuid4()
    return {
        "event_id": eid,
        "occurred_at": datetime.now(UTC),
        "practice_id": P,
        "correlation_id": eid,
    } | kw


@contextlib.contextmanager
def database_down(url: str):
    """The database refuses every connection, and its open sessions are ended -- what a
    service sees when PostgreSQL is away -- until the block ends."""
    name = url.rsplit("/", 1)[1]
    admin = create_engine(
        f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
    try:
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()


@pytest.fixture(scope="module")
async def world(settings):
    peers = await JsonServer(lambda _c: (404, {})).start()
    with own_database(PG_PORT) as db:
        s = IngestSettings(
            kafka_bootstrap=settings.kafka_bootstrap,
            database_url=db,
            topic_prefix=f"ingo{uuid.uuid4().hex[:6]}.",
            service_name="ingest-outage-it",
            twilio_auth_token=TOKEN,
            email_webhook_secret=EMAIL_SECRET,
            practices=[P],
            lines=[
                Line(practice_id=P, channel="sms", address=MAIN, label="Front desk"),
                Line(practice_id=P, channel="voice", address=MAIN),
                Line(practice_id=P, channel="email", address=MAILBOX),
            ],
            attachment_dir=f"/tmp/sb-ingest-outage-it-{uuid.uuid4().hex[:6]}",
            smtp_listen_port=free_port(),
            pm_sync_url=peers.url,
            dispatcher_poll_s=0.05,
            consumer_backoff_initial_s=0.05,
            consumer_backoff_max_s=0.5,
        )
        await prepare(s)
        router = RouterProcess(s, db, group_prefix="ingest-outage-")
        router.start()
        s = s.model_copy(
            update={"router_url": router.internal_url}
            | settings_update(router.credentials["ingest"])
        )
        try:
            async with (
                running_ingest(s) as (app, client),
                TopicReader(s, Topic.MESSAGES) as messages,
                TopicReader(s, Topic.ROUTING) as routing,
                TopicReader(s, Topic.INTAKE) as intake,
            ):
                w = World(s, db, app, client, messages, routing, intake)
                await app.state.runtime.publisher.publish(
                    [
                        RoutingSettingsChanged(**env(), actor="u-admin", reason_routing=False),
                        PatientUpserted(
                            **env(),
                            patient_id="pat-jane",
                            given_name="Jane",
                            family_name="Doe",
                            phones=(JANE_PHONE,),
                            emails=(JANE_MAIL,),
                            source_updated_at=datetime.now(UTC),
                        ),
                    ]
                )
                await eventually(w.knows_jane, within=30)
                yield w
        finally:
            router.stop()
            await peers.stop()


class World:
    def __init__(self, s, db, app, client, messages, routing, intake) -> None:
        self.s, self.db, self.app, self.client = s, db, app, client
        self.messages, self.routing, self.intake = messages, routing, intake

    async def knows_jane(self) -> bool:
        c = storage.contacts
        async with self.app.state.runtime.sessionmaker() as session:
            rows = (await session.execute(select(c.c.contact).where(c.c.practice_id == P))).all()
        index = self.app.state.contact_index
        return len(rows) == 2 and index.ready and index.owners(P, JANE_PHONE) == 1

    async def sms(self, sid: str, sender: str) -> int:
        params = {"MessageSid": sid, "From": sender, "To": MAIN, "Body": "refill please"}
        return await self.form(f"/webhooks/twilio/sms/{P}", params)

    async def voicemail(self, rec: str, caller: str) -> int:
        params = {
            "RecordingSid": rec,
            "RecordingUrl": f"https://api.example/Recordings/{rec}",
            "RecordingDuration": "9",
            "From": caller,
            "To": MAIN,
            "TranscriptionText": "call me back",
        }
        return await self.form(f"/webhooks/twilio/voicemail/{P}", params)

    async def form(self, path: str, params: dict[str, str]) -> int:
        url = f"http://testserver{path}"
        r = await self.client.post(
            url, data=params, headers={"X-Twilio-Signature": signature(TOKEN, url, params)}
        )
        return r.status_code

    async def email(self, raw: bytes) -> int:
        h = {
            "content-type": "message/rfc822",
            **signed_headers(EMAIL_SECRET, int(time.time()), raw),
        }
        return (await self.client.post("/webhooks/email", content=raw, headers=h)).status_code

    def smtp(self, raw: bytes) -> None:
        with smtplib.SMTP("127.0.0.1", self.s.smtp_listen_port, timeout=30) as smtp:
            smtp.sendmail(JANE_MAIL, [MAILBOX], raw)  # raises unless 250

    def deferred_ids(self) -> set[uuid.UUID]:
        return {e.message.message_id for e in self.intake.of("MessageDeferred")}

    async def received(self, message_id: uuid.UUID):
        await eventually(lambda: self.messages.of("MessageReceived", message_id=message_id), 60)
        [event] = self.messages.of("MessageReceived", message_id=message_id)
        return event

    async def routed(self, message_id: uuid.UUID):
        await eventually(lambda: self.routing.of("MessageRouted", message_id=message_id), 60)
        return self.routing.of("MessageRouted", message_id=message_id)[0]


def mail(mid: str, reply_to: str | None = None) -> bytes:
    head = f"From: J <{JANE_MAIL}>\r\nTo: {MAILBOX}\r\nSubject: Hi\r\nMessage-ID: {mid}\r\n"
    if reply_to:
        head += f"In-Reply-To: {reply_to}\r\nReferences: {reply_to}\r\n"
    return (head + "\r\nhello\r\n").encode()


async def test_webhooks_and_smtp_accept_while_the_database_is_down_and_thread_after(world):
    # An email thread begun while all was well: the reply during the outage must join it.
    first = f"<{uuid.uuid4().hex}@home.test>"
    assert await world.email(mail(first)) == 200
    thread = (await world.received(deterministic_id(P, "email", first))).conversation_id

    sms_jane, sms_stranger = f"SM{uuid.uuid4().hex}", f"SM{uuid.uuid4().hex}"
    rec = f"RE{uuid.uuid4().hex}"
    reply, relayed = f"<{uuid.uuid4().hex}@home.test>", f"<{uuid.uuid4().hex}@home.test>"
    with database_down(world.db):
        # Every door answers 2xx; each answer came after Kafka's acks=all of its record.
        assert await world.sms(sms_jane, JANE_PHONE) == 200
        assert await world.sms(sms_stranger, STRANGER) == 200
        assert await world.voicemail(rec, JANE_PHONE) == 200
        assert await world.email(mail(reply, reply_to=first)) == 200
        await asyncio.to_thread(world.smtp, mail(relayed, reply_to=reply))
        # Emails accepted into the log deferred (their threading waits for the database).
        # The reader consumes the topic in the background, so it may be a poll behind.
        emails = {deterministic_id(P, "email", reply), deterministic_id(P, "email", relayed)}
        await eventually(lambda: world.deferred_ids() >= emails, within=30)
        # SMS and voicemail need no database: threaded at once, during the outage.
        texts = {
            deterministic_id(P, "twilio", sms_jane): thread_id(P, MAIN, JANE_PHONE),
            deterministic_id(P, "twilio", sms_stranger): sms_conversation_id(
                P, MAIN, STRANGER, sms_stranger, recognized=False
            ),
            deterministic_id(P, "twilio-voicemail", rec): thread_id(P, MAIN, JANE_PHONE),
        }
        for mid, conversation in texts.items():
            assert (await world.received(mid)).conversation_id == conversation
        assert not world.deferred_ids() & set(texts)

    # The database is back: each message in the conversation it would have had.
    jane = await world.received(deterministic_id(P, "twilio", sms_jane))
    assert jane.conversation_id == thread_id(P, MAIN, JANE_PHONE)  # Jane's thread (I-THREAD-1)
    stranger = await world.received(deterministic_id(P, "twilio", sms_stranger))
    assert stranger.conversation_id == sms_conversation_id(
        P, MAIN, STRANGER, sms_stranger, recognized=False
    )  # an unknown number: its own communication
    vm = await world.received(deterministic_id(P, "twilio-voicemail", rec))
    assert vm.conversation_id == thread_id(P, MAIN, JANE_PHONE)
    assert (await world.received(deterministic_id(P, "email", reply))).conversation_id == thread
    assert (await world.received(deterministic_id(P, "email", relayed))).conversation_id == thread

    # ...and routed as it would have been: Jane's messages are Jane's, the stranger's no one's.
    for mid in (
        deterministic_id(P, "twilio", sms_jane),
        deterministic_id(P, "twilio-voicemail", rec),
    ):
        assert (await world.routed(mid)).patient_id == "pat-jane"
    assert (await world.routed(deterministic_id(P, "twilio", sms_stranger))).patient_id is None

    # The email rows are recorded, so a reply after the outage still threads.
    after = f"<{uuid.uuid4().hex}@home.test>"
    assert await world.email(mail(after, reply_to=relayed)) == 200
    assert (await world.received(deterministic_id(P, "email", after))).conversation_id == thread


async def test_texts_are_deferred_while_the_index_is_not_loaded_and_threaded_after(world):
    """Before the index is loaded (ingest started while the database was away) an SMS's
    sender is the database's to say: deferred, then looked up, one query per batch."""
    index = world.app.state.contact_index
    index.ready = False
    sms_jane, sms_stranger = f"SM{uuid.uuid4().hex}", f"SM{uuid.uuid4().hex}"
    try:
        with database_down(world.db):
            assert await world.sms(sms_jane, JANE_PHONE) == 200
            assert await world.sms(sms_stranger, STRANGER) == 200
            texts = {
                deterministic_id(P, "twilio", sms_jane),
                deterministic_id(P, "twilio", sms_stranger),
            }
            await eventually(lambda: world.deferred_ids() >= texts, within=30)
    finally:
        index.ready = True
    jane = await world.received(deterministic_id(P, "twilio", sms_jane))
    assert jane.conversation_id == thread_id(P, MAIN, JANE_PHONE)
    stranger = await world.received(deterministic_id(P, "twilio", sms_stranger))
    assert stranger.conversation_id == sms_conversation_id(
        P, MAIN, STRANGER, sms_stranger, recognized=False
    )
