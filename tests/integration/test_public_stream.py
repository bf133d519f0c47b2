"""The public event stream (issue 16, ADR 0022) through real Kafka and PostgreSQL: the
notifier translates a conversation's internal events into public events, in order on the
public topic, with no patient data there; the content on the content topic; the same
internal events read again publish nothing new (same ids)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from notifier_support import TopicReader, eventually
from public_support import BODY, PUBLIC_ORDER, SENDER, conversation

from switchboard.events import Event, Topic
from switchboard.notifier.app import MIGRATIONS, build_app
from switchboard.notifier.settings import NotifierSettings
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer
from switchboard.platform.migrations import upgrade

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def running(settings: NotifierSettings) -> AsyncIterator[None]:
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        yield


@pytest.fixture(scope="module")
def stream_settings(settings) -> NotifierSettings:
    upgrade(MIGRATIONS, settings.database_url)
    return NotifierSettings(
        **(
            settings.model_dump()
            | {"service_name": "notifier", "topic_prefix": f"ps{uuid.uuid4().hex[:6]}."}
        )
    )


@pytest.fixture
async def publisher(stream_settings) -> AsyncIterator[Publisher]:
    await ensure_topics(stream_settings)
    producer = make_producer(stream_settings)
    await producer.start()
    try:
        yield Publisher(producer, stream_settings)
    finally:
        await producer.stop()


# covers X-EVENTS-2
async def test_a_conversation_comes_out_in_order_without_patient_data(
    stream_settings, publisher
) -> None:
    practice = f"p{uuid.uuid4().hex[:8]}"
    conv = uuid.uuid4()
    internal = conversation(practice, conv)
    async with (
        TopicReader(stream_settings, Topic.PUBLIC_CONVERSATIONS) as public,
        TopicReader(stream_settings, Topic.PUBLIC_CONTENT) as content,
        running(stream_settings),
    ):
        # Each on its own topic, as the services publish them, a moment apart (as staff act).
        # Kafka orders nothing across topics: the translator orders by time what it reads
        # together (ADR 0022), so events a few milliseconds apart on different topics could
        # still come out swapped under lag.
        for event in internal:
            await publisher.publish([event], timeout_s=30)
            await asyncio.sleep(0.05)

        def mine(reader: TopicReader) -> list[Event]:
            return [e for e in reader.events if getattr(e, "conversation_id", None) == conv]

        await eventually(lambda: len(mine(public)) == len(PUBLIC_ORDER), within=60)
        await eventually(lambda: len(mine(content)) == 3, within=30)
        order = [e.event_type for e in mine(public)]
        assert sorted(order) == sorted(PUBLIC_ORDER)  # each once
        assert order[:2] == PUBLIC_ORDER[:2]  # created, then the message that opened it
        # What one internal topic gave keeps its order (one partition per conversation):
        # staff actions. Across internal topics the order is the translator's (ADR 0022).
        actions = [t for t in order if t in PUBLIC_ORDER[3:5] + PUBLIC_ORDER[6:]]
        assert actions == [*PUBLIC_ORDER[3:5], *PUBLIC_ORDER[6:]]
        # ids derived from the internal ones; causation and correlation kept
        received = mine(public)[1]
        assert received.causation_id == internal[0].event_id
        assert received.correlation_id == internal[0].correlation_id
        # No patient data on the public topic: no text, no number, no patient id.
        raw = json.dumps([e.model_dump(mode="json") for e in mine(public)])
        for secret in (BODY, SENDER, "pat-42", "Refill sent"):
            assert secret not in raw
        # The content topic has it, joined by message id.
        linked, inbound, outbound = sorted(
            mine(content), key=lambda e: (e.event_type, getattr(e, "direction", ""))
        )
        assert linked.event_type == "public.conversation.patient_linked"
        assert linked.patient_id == "pat-42"  # type: ignore[attr-defined]
        assert inbound.body == BODY and inbound.message_id == received.message_id  # type: ignore[attr-defined]
        assert outbound.direction == "outbound"  # type: ignore[attr-defined]

        # The same internal events again (a replayed log): nothing new is announced, and any
        # repeat carries the ids already seen.
        before = {e.event_id for e in mine(public)}
        second = uuid.uuid4()
        follow_up = conversation(practice, conv)[0].model_copy(
            update={"event_id": uuid.uuid4(), "message_id": second}
        )
        for event in internal[:2]:
            await publisher.publish([event], timeout_s=30)
        await publisher.publish([follow_up])
        await eventually(
            lambda: any(getattr(e, "message_id", None) == second for e in mine(public)), within=30
        )
        again = [e for e in mine(public) if e.event_id not in before]
        # the follow-up message only: no second `created`, no re-translation of the repeats
        assert [e.event_type for e in again] == ["public.message.received"]
