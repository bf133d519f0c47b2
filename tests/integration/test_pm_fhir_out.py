"""FHIR R4 Communication out (X-FHIR-2) as pm-sync runs it (app.py wiring), against the real
Kafka and PostgreSQL and the demo EHR stand-in (switchboard_demo.fhir_server): the
Communications of a conversation (a message and its reply) are read back from the server;
an unrecognized conversation's message waits until the conversation is linked; a refusal
is dead-lettered naming the element; a consumer that dies after the server answered but
before it committed does not make a second Communication when its batch comes again; and two
replicas applying a message and its conversation's link at the same time still publish it.

# covers X-FHIR-2, I-UNREC-1 (an unrecognized conversation's messages wait for the link)
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import create_engine, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import Event, MessageReceived, MessageRouted, Topic
from switchboard.events.actions import ConversationLinked, ReplyRequested
from switchboard.events.config import ReasonAdded
from switchboard.events.delivery import ReplySent
from switchboard.events.topics import PARTITIONS
from switchboard.platform.consumer import ConsumerRunner
from switchboard.platform.db import make_engine, make_sessionmaker
from switchboard.platform.internal_api import dev_credentials, settings_update
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer
from switchboard.platform.migrations import upgrade
from switchboard.pm_sync.adapters import storage
from switchboard.pm_sync.domain.fhir_communication import MESSAGE_ID_SYSTEM
from switchboard.pm_sync.entrypoints.app import MIGRATIONS, build_app
from switchboard.pm_sync.entrypoints.fhir_out import FHIR_OUT_TOPICS, FhirOut
from switchboard.pm_sync.settings import FhirPractice, PmSyncSettings
from switchboard_demo.fhir_server import FhirTestServer

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
CREDENTIALS = dev_credentials()


class Crash(BaseException):
    """The process dying: nothing after it runs (no database commit, no offset commit)."""


def practice_id() -> str:
    return f"fo-{uuid.uuid4().hex[:8]}"


def env(practice: str, at: datetime) -> dict[str, Any]:
    eid = uuid.uuid4()
    return {"event_id": eid, "correlation_id": eid, "practice_id": practice, "occurred_at": at}


def message(
    practice: str,
    conversation: uuid.UUID,
    at: datetime,
    *,
    patient: str | None,
    body: str,
    channel: str = "sms",
) -> MessageReceived:
    return MessageReceived(
        **env(practice, at),
        message_id=uuid.uuid4(),
        conversation_id=conversation,
        channel=channel,  # type: ignore[arg-type]
        sender="+12125550101",
        recipient="+12125550000",
        provider="twilio",
        provider_message_id=uuid.uuid4().hex,
        received_at=at,
        body=body,
        patient_id=patient,
    )


def routed(m: MessageReceived, reason: str, patient: str | None) -> MessageRouted:
    return MessageRouted(
        **env(m.practice_id, m.received_at + timedelta(seconds=1)),
        message_id=m.message_id,
        conversation_id=m.conversation_id,
        patient_id=patient,
        reason=reason,
        reason_source="none",
        provider_id="dr-1",
        decided_at=m.received_at + timedelta(seconds=1),
    )


def reply(
    m: MessageReceived, at: datetime, body: str, actor: str = "u-ma-1"
) -> tuple[ReplyRequested, ReplySent]:
    rid = uuid.uuid4()
    requested = ReplyRequested(
        **env(m.practice_id, at),
        conversation_id=m.conversation_id,
        actor=actor,
        message_id=rid,
        channel=m.channel,
        line=m.recipient,
        to=m.sender,
        body=body,
        requested_at=at,
    )
    sent = ReplySent(
        **env(m.practice_id, at + timedelta(seconds=2)),
        conversation_id=m.conversation_id,
        message_id=rid,
        channel=m.channel,
        actor=actor,
        sent_at=at + timedelta(seconds=2),
    )
    return requested, sent


@pytest.fixture(scope="module")
async def prepared(settings):
    """Topics of its own (its consumers read the message topics from the start)."""
    own = settings.model_copy(update={"topic_prefix": f"fo{uuid.uuid4().hex[:8]}."})
    await asyncio.to_thread(upgrade, MIGRATIONS, own.database_url)
    await ensure_topics(own)
    return own


def fhir_out_cfg(settings, server: FhirTestServer, *practices: str, **overrides: Any):
    values: dict[str, Any] = {
        "service_name": "pm-sync-fhir-out-test",
        "kafka_bootstrap": settings.kafka_bootstrap,
        "database_url": settings.database_url,
        "topic_prefix": settings.topic_prefix,
        # each test's consumers form a group of their own
        "consumer_group_prefix": f"g{uuid.uuid4().hex[:8]}.",
        "consumer_backoff_initial_s": 0.01,
        "consumer_backoff_max_s": 0.2,
        "mllp_enabled": False,
        "fhir_practices": [
            FhirPractice(
                practice_id=p,
                base_url=server.base_url,
                interval_s=3600,
                communication_payload="full",
            )
            for p in practices
        ],
        "fhir_max_attempts": 2,
        "fhir_out_max_attempts": 2,
        "fhir_backoff_initial_s": 0.02,
        "fhir_backoff_max_s": 0.2,
        "fhir_timeout_s": 5,
        "publish_timeout_s": 5,
    }
    return PmSyncSettings(**(values | settings_update(CREDENTIALS["pm-sync"]) | overrides))


@contextlib.asynccontextmanager
async def running(cfg: PmSyncSettings) -> AsyncIterator[None]:
    app = build_app(cfg)
    async with app.router.lifespan_context(app):
        yield


async def publish(settings, events: Sequence[Event]) -> None:
    publisher = Publisher(make_producer(settings), settings, connected=False)
    await publisher.connect()
    try:
        await publisher.publish(list(events), timeout_s=30)
    finally:
        await publisher.close()


async def eventually(check: Callable[[], Any], timeout_s: float = 60.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def dead_letters(settings) -> list[Any]:
    """Every record on the dead-letter topic so far (a fresh reader, no group)."""
    name = settings.topic(Topic.DEAD_LETTER)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(name, p) for p in range(PARTITIONS[Topic.DEAD_LETTER])]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            for rs in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(rs)
        return records
    finally:
        await consumer.stop()


def communications(server: FhirTestServer, **query: str) -> list[Any]:
    return server.find("Communication", {k: [v] for k, v in query.items()})


def by_identifier(server: FhirTestServer, message_id: uuid.UUID) -> list[Any]:
    return communications(server, identifier=f"{MESSAGE_ID_SYSTEM}|{message_id}")


def row_state(database_url: str, practice: str, message_id: uuid.UUID) -> Any:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            m = storage.fhir_out_messages
            return conn.execute(
                select(m).where(m.c.practice_id == practice, m.c.message_id == message_id)
            ).first()
    finally:
        engine.dispose()


async def test_a_conversations_message_and_reply_are_read_back_from_the_ehr(prepared):
    # covers X-FHIR-2: subject, topic = reason, inResponseTo, medium, sent / received, payload
    practice, other = practice_id(), practice_id()
    conversation = uuid.uuid4()
    t0 = NOW - timedelta(minutes=30)
    m = message(practice, conversation, t0, patient="pat-1", body="Refill my inhaler please")
    requested, sent = reply(m, t0 + timedelta(minutes=5), "Sent to your pharmacy.")
    label = ReasonAdded(**env(practice, t0), actor="ops", code="inhalers", label="Inhaler refills")
    # a practice with no FHIR server configured: nothing of it is published
    elsewhere = message(other, uuid.uuid4(), t0, patient="pat-1", body="Not for this EHR")
    with FhirTestServer() as server:
        async with running(fhir_out_cfg(prepared, server, practice)):
            # the routing arrives before the message it routes (other topic): it waits
            await publish(prepared, [label, routed(m, "inhalers", "pat-1")])
            await publish(prepared, [m, elsewhere, routed(elsewhere, "billing", "pat-1")])
            await publish(prepared, [requested, sent])
            found = await eventually(
                lambda: (lambda cs: cs if len(cs) == 2 else None)(
                    communications(server, subject="Patient/pat-1")
                )
            )
    inbound, outbound = sorted(
        found, key=lambda c: c["identifier"][0]["value"] != str(m.message_id)
    )
    assert inbound["identifier"] == [{"system": MESSAGE_ID_SYSTEM, "value": str(m.message_id)}]
    assert inbound["status"] == "completed"
    assert inbound["subject"] == {"reference": "Patient/pat-1"}
    assert inbound["sender"] == {"reference": "Patient/pat-1"}
    assert inbound["recipient"] == [{"reference": "Practitioner/dr-1"}]
    assert inbound["topic"]["coding"][0]["code"] == "inhalers"
    assert inbound["topic"]["text"] == "Inhaler refills"
    assert inbound["medium"][0]["coding"][0]["code"] == "WRITTEN"
    assert inbound["payload"] == [{"contentString": "Refill my inhaler please"}]
    assert datetime.fromisoformat(inbound["received"]) == t0
    assert outbound["identifier"][0]["value"] == str(requested.message_id)
    assert outbound["inResponseTo"] == [{"reference": f"Communication/{inbound['id']}"}]
    assert outbound["sender"]["identifier"]["value"] == "u-ma-1"
    assert outbound["recipient"] == [{"reference": "Patient/pat-1"}]
    assert datetime.fromisoformat(outbound["sent"]) == sent.sent_at
    assert outbound["payload"] == [{"contentString": "Sent to your pharmacy."}]
    assert not by_identifier(server, elsewhere.message_id)
    # the body is not kept once the EHR has it
    row = row_state(prepared.database_url, practice, m.message_id)
    assert row.state == "published" and row.body is None and row.server_id == inbound["id"]


async def test_an_unrecognized_conversation_waits_for_its_link_then_is_published(prepared):
    # covers X-FHIR-2, I-UNREC-1: no patient, no Communication; the link publishes it
    practice = practice_id()
    conversation = uuid.uuid4()
    t0 = NOW - timedelta(minutes=20)
    m = message(practice, conversation, t0, patient=None, body="Is my result in?", channel="email")
    with FhirTestServer() as server:
        async with running(fhir_out_cfg(prepared, server, practice)):
            await publish(prepared, [m, routed(m, "test_lab_results", None)])

            def held() -> bool:
                row = row_state(prepared.database_url, practice, m.message_id)
                return bool(row and row.routed and row.at is not None)

            await eventually(held)
            await asyncio.sleep(0.5)
            assert row_state(prepared.database_url, practice, m.message_id).state == "waiting"
            assert server.creates == 0
            link = ConversationLinked(
                **env(practice, t0 + timedelta(minutes=3)),
                conversation_id=conversation,
                actor="u-front-desk",
                patient_id="pat-7",
            )
            await publish(prepared, [link])
            [c] = await eventually(lambda: by_identifier(server, m.message_id))
    assert c["subject"] == {"reference": "Patient/pat-7"}
    assert c["topic"]["text"] == "Test / Lab Results"
    assert c["medium"][0]["coding"][0]["code"] == "EMAILWRIT"


async def test_a_refused_communication_is_dead_lettered_naming_the_element(prepared):
    # covers X-FHIR-2: a 4xx the record cannot fix is dead-lettered; the partition goes on
    practice = practice_id()
    t0 = NOW - timedelta(minutes=10)
    m = message(practice, uuid.uuid4(), t0, patient="pat-9", body="Jane Doe here")
    with FhirTestServer() as server:
        server.post_status = 422
        async with running(fhir_out_cfg(prepared, server, practice)):
            await publish(prepared, [m, routed(m, "billing", "pat-9")])

            def rejected() -> bool:
                row = row_state(prepared.database_url, practice, m.message_id)
                return bool(row and row.state == "rejected")

            await eventually(rejected)
    dead = [
        dict(r.headers)
        for r in await dead_letters(prepared)
        if dict(r.headers).get("practice_id") == practice.encode()
    ]
    [headers] = dead
    assert headers["dlq.consumer"] == b"pm-sync-fhir-writer"
    reason = headers["dlq.error"].decode()
    assert "HTTP 422" in reason and "Communication" in reason
    assert "Jane" not in reason and "pat-9" not in reason


async def test_a_redelivered_batch_does_not_create_a_second_communication(prepared):
    # covers X-FHIR-2: idempotent by conditional create on the message identifier
    practice = practice_id()
    t0 = NOW - timedelta(minutes=5)
    m = message(practice, uuid.uuid4(), t0, patient="pat-3", body="Can I move my visit?")
    with FhirTestServer() as server:
        cfg = fhir_out_cfg(prepared, server, practice)
        engine = make_engine(cfg.database_url)
        publisher = Publisher(make_producer(cfg), cfg, connected=False)
        await publisher.connect()
        out = FhirOut(cfg, publisher)

        async def then_die(session: AsyncSession, events: Sequence[Event]) -> list[Event]:
            result = await out.handle(session, events)
            if server.creates:
                raise Crash  # the server answered; nothing was committed
            return result

        runner = ConsumerRunner(
            name="pm-sync-fhir-out",
            topics=FHIR_OUT_TOPICS,
            handler=then_die,
            settings=cfg,
            sessionmaker=make_sessionmaker(engine),
            processed=storage.processed,
            publisher=publisher,
        )
        task = asyncio.create_task(runner.run())
        try:
            await publish(prepared, [m, routed(m, "appointments", "pat-3")])
            with pytest.raises(Crash):
                await asyncio.wait_for(task, timeout=60)
        finally:
            await publisher.close()
            await out.aclose()
            await engine.dispose()
        assert server.creates == 1
        # rolled back with the batch: no record here that the server holds it
        row = row_state(cfg.database_url, practice, m.message_id)
        assert row is None or row.state == "waiting"
        [first] = by_identifier(server, m.message_id)

        # pm-sync again, same consumer group: the batch comes again from the last commit
        async with running(cfg):

            def published() -> bool:
                row = row_state(cfg.database_url, practice, m.message_id)
                return bool(row and row.state == "published")

            await eventually(published)
        assert server.creates == 2  # asked again; the server found the first one
        assert [c["id"] for c in by_identifier(server, m.message_id)] == [first["id"]]
        assert row_state(cfg.database_url, practice, m.message_id).server_id == first["id"]


async def test_two_replicas_applying_a_message_and_its_link_at_once_still_publish_it(prepared):
    # covers X-FHIR-2: the second of two concurrent batches sees the first's facts
    practice = practice_id()
    conversation = uuid.uuid4()
    t0 = NOW - timedelta(minutes=40)
    newer = message(practice, conversation, t0, patient=None, body="second")
    older = message(practice, conversation, t0 - timedelta(minutes=5), patient=None, body="first")
    link = ConversationLinked(
        **env(practice, t0 + timedelta(minutes=1)),
        conversation_id=conversation,
        actor="u-front-desk",
        patient_id="pat-5",
    )
    with FhirTestServer() as server:
        cfg = fhir_out_cfg(prepared, server, practice)
        engine = make_engine(cfg.database_url)
        sessions = make_sessionmaker(engine)
        out = FhirOut(cfg, None)  # type: ignore[arg-type]  # nothing here is dead-lettered
        try:
            async with sessions() as s, s.begin():
                await out.handle(s, [newer, routed(newer, "billing", None)])
            # replica A applies the older message (it moves nothing on the conversation row)
            # and has not committed when replica B applies the link
            async with sessions() as a:
                await a.begin()
                await out.handle(a, [older, routed(older, "billing", None)])

                async def replica_b() -> None:
                    async with sessions() as b, b.begin():
                        await out.handle(b, [link])

                b_task = asyncio.create_task(replica_b())
                await asyncio.sleep(1.0)
                await a.commit()
                await asyncio.wait_for(b_task, timeout=30)
        finally:
            await out.aclose()
            await engine.dispose()
        for m in (older, newer):
            [c] = by_identifier(server, m.message_id)
            assert c["subject"] == {"reference": "Patient/pat-5"}
