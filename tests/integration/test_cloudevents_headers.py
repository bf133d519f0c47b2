"""Every record the platform publishes is a CloudEvent in Kafka binary mode (issue 16): a
subscriber reads it with the CloudEvents SDK straight from Kafka, the headers name ids and
types only (no patient data), and the platform's own consumers still read the records."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.formats.json import JSONFormat

from switchboard.events import (
    ConversationAssigned,
    LocationUpserted,
    MessageReceived,
    Topic,
    decode,
    deterministic_id,
)
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer

pytestmark = pytest.mark.integration

NOW = datetime(2026, 6, 3, 16, 55, tzinfo=UTC)
SENDER = "+15557770123"
BODY = "Quillon Zephyrine needs a refill of lisinopril"


def _events(marker: str):
    eid = deterministic_id("demo", "ce-test", marker)
    conversation = deterministic_id("demo", "ce-conv", marker)
    env = dict(event_id=eid, occurred_at=NOW, practice_id="demo", correlation_id=eid)
    received = MessageReceived(
        **env,
        message_id=eid,
        conversation_id=conversation,
        channel="sms",
        sender=SENDER,
        recipient="+12125550000",
        provider="twilio",
        provider_message_id=f"SM{marker}",
        received_at=NOW,
        body=BODY,
        subject="Quillon's refill",
    )
    assigned = ConversationAssigned(
        **(env | {"event_id": deterministic_id("demo", "ce-assign", marker)}),
        conversation_id=conversation,
        actor="staff:alice",
        assignee="staff:bob",
    )
    location = LocationUpserted(
        **(env | {"event_id": deterministic_id("demo", "ce-loc", marker)}),
        location_id=f"loc-{marker}",
        name="Main street",
    )
    return received, assigned, location


async def _read_back(settings, topics, event_ids: set[str]):
    consumer = AIOKafkaConsumer(
        *[settings.topic(t) for t in topics],
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    found = {}
    try:
        async with asyncio.timeout(90):
            while not event_ids <= set(found):
                batches = await consumer.getmany(timeout_ms=1000)
                for records in batches.values():
                    for r in records:
                        ids = dict(r.headers).get("event_id", b"").decode()
                        if ids in event_ids:
                            found[ids] = r
    finally:
        await consumer.stop()
    return found


async def test_published_records_decode_as_cloudevents_without_patient_data(settings):
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    marker = uuid.uuid4().hex[:10]
    received, assigned, location = _events(marker)
    try:
        # Generous: the topics may be new (leader election) on a loaded machine.
        await Publisher(producer, settings).publish([received, assigned, location], timeout_s=60)
    finally:
        await producer.stop()
    records = await _read_back(
        settings,
        [Topic.MESSAGES, Topic.ACTIONS, Topic.PM],
        {str(e.event_id) for e in (received, assigned, location)},
    )

    for event in (received, assigned, location):
        record = records[str(event.event_id)]
        ce = from_binary(
            KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value),
            JSONFormat(),
        )
        assert ce.get_specversion() == "1.0"
        assert ce.get_id() == str(event.event_id)
        assert ce.get_type() == f"com.switchboard.{event.event_type}.v1"
        assert ce.get_source() == f"/switchboard/{settings.service_name}/demo"
        assert ce.get_time() == NOW
        assert ce.get_datacontenttype() == "application/json"
        assert ce.get_dataschema() == f"urn:switchboard:event:{event.event_type}:v1"
        # The CloudEvent's data is the event itself: the platform's decoder reads it too.
        assert decode(ce.get_data()) == event
        # ...and so do the platform's consumers, from the same bytes and extra headers.
        assert decode(record.value) == event

    message = records[str(received.event_id)]
    assert from_binary(
        KafkaMessage(headers=dict(message.headers), key=None, value=message.value), JSONFormat()
    ).get_subject() == str(received.conversation_id)
    no_subject = records[str(location.event_id)]
    assert "ce_subject" not in dict(no_subject.headers)

    for record in records.values():
        header_text = " ".join(v.decode() for _, v in record.headers)
        for mark in ("Quillon", "Zephyrine", "5557770123", "lisinopril", "refill"):
            assert mark not in header_text
