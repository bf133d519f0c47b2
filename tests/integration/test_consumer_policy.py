"""The one consumer policy, against the real Kafka and PostgreSQL: commit after work,
redelivery is a no-op, bounded retries then dead-letter, the partition keeps moving."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import Column, Integer, MetaData, Table, Text, select, text
from sqlalchemy.dialects.postgresql import insert

from switchboard.events import Event, LocationUpserted, Topic, deterministic_id
from switchboard.platform.consumer import ConsumerRunner
from switchboard.platform.db import make_engine, make_sessionmaker, processed_events_table
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer

pytestmark = pytest.mark.integration

meta = MetaData(schema="policytest")
processed = processed_events_table(meta)
applied = Table("applied", meta, Column("event_id", Text, primary_key=True), Column("n", Integer))
NOW = datetime(2026, 6, 3, 16, 55, tzinfo=UTC)


def location(name: str, practice: str = "demo") -> LocationUpserted:
    eid = deterministic_id(practice, "test-location", name)
    return LocationUpserted(
        event_id=eid,
        occurred_at=NOW,
        practice_id=practice,
        correlation_id=eid,
        location_id=name,
        name=name,
    )


class Recorder:
    """Counts applications beside the processed record; 'poison' always fails."""

    def __init__(self) -> None:
        self.calls = 0
        self.poison_calls = 0

    async def __call__(self, session, events: Sequence[Event]) -> list[Event]:
        for e in events:
            self.calls += 1
            if getattr(e, "name", "") == "poison":
                self.poison_calls += 1
                raise ValueError("cannot apply this one")
            await session.execute(
                insert(applied)
                .values(event_id=str(e.event_id), n=1)
                .on_conflict_do_update(
                    index_elements=[applied.c.event_id], set_={"n": applied.c.n + 1}
                )
            )
        return []


@pytest.fixture
async def env(settings):
    engine = make_engine(settings.database_url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS policytest CASCADE"))
        await conn.execute(text("CREATE SCHEMA policytest"))
        await conn.run_sync(meta.create_all)
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    yield settings, engine, Publisher(producer, settings)
    await producer.stop()
    await engine.dispose()


async def run_until(runner: ConsumerRunner, done, limit_s: float = 30.0) -> None:
    task = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(limit_s):
            while not await done():
                if task.done():
                    task.result()
                await asyncio.sleep(0.1)
    finally:
        runner.stop()
        await task


async def count_applied(engine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(applied.c.event_id, applied.c.n))
        return {r.event_id: r.n for r in rows}


def runner_for(settings, engine, publisher, handler, name) -> ConsumerRunner:
    return ConsumerRunner(
        name=name,
        topics=[Topic.PM],
        handler=handler,
        settings=settings,
        sessionmaker=make_sessionmaker(engine),
        processed=processed,
        publisher=publisher,
    )


async def test_redelivered_and_duplicate_events_apply_once(env):
    settings, engine, publisher = env
    a, b = location("a-" + uuid.uuid4().hex), location("b-" + uuid.uuid4().hex)
    await publisher.publish([a, a, b])
    group = f"dup-{uuid.uuid4().hex[:6]}"
    await run_until(
        runner_for(settings, engine, publisher, Recorder(), group),
        lambda: _has(engine, {str(a.event_id), str(b.event_id)}),
    )
    # A second consumer group member starting from scratch = a full redelivery.
    await publisher.publish([a])
    await run_until(
        runner_for(settings, engine, publisher, Recorder(), group),
        lambda: _committed_to_end(settings, group),
    )
    counts = await count_applied(engine)
    assert counts[str(a.event_id)] == 1
    assert counts[str(b.event_id)] == 1
    async with engine.connect() as conn:
        recorded = set(
            await conn.scalars(select(processed.c.event_id).where(processed.c.consumer == group))
        )
    assert {a.event_id, b.event_id} <= recorded


async def test_poison_event_goes_to_dead_letter_and_the_partition_moves_on(env):
    settings, engine, publisher = env
    poison = location("poison", practice="poisoned")
    after = location("after-" + uuid.uuid4().hex, practice="poisoned")  # same key: same partition
    poison = poison.model_copy(update={"event_id": uuid.uuid4()})
    await publisher.publish([poison, after])
    recorder = Recorder()
    group = f"dlq-{uuid.uuid4().hex[:6]}"
    await run_until(
        runner_for(settings, engine, publisher, recorder, group),
        lambda: _has(engine, {str(after.event_id)}),
    )
    dead = await _read_dead_letters(settings)
    mine = [r for r in dead if r.value and str(poison.event_id).encode() in r.value]
    assert len(mine) == 1
    headers = dict(mine[0].headers)
    assert headers["dlq.consumer"] == group.encode()
    # A library exception's message may quote input: the type, never the message (issue 13).
    assert headers["dlq.error"] == b"ValueError: (message withheld)"
    assert b":apply" in headers["dlq.trace"]  # frames as file:line:function
    assert headers["dlq.attempts"] == str(settings.consumer_max_attempts).encode()
    # one try inside its batch, then bounded single retries: not an endless loop
    assert recorder.poison_calls == 1 + settings.consumer_max_attempts


async def test_unreadable_bytes_are_dead_lettered_without_retries(env):
    settings, engine, publisher = env
    marker = uuid.uuid4().hex
    good = location("good-" + marker)
    await publisher.producer.send_and_wait(
        settings.topic(Topic.PM), value=f"not json {marker}".encode(), key=b"demo:x"
    )
    await publisher.publish([good])
    await run_until(
        runner_for(settings, engine, publisher, Recorder(), f"bad-{marker[:6]}"),
        lambda: _has(engine, {str(good.event_id)}),
    )
    dead = await _read_dead_letters(settings)
    [record] = [r for r in dead if marker.encode() in (r.value or b"")]
    assert dict(record.headers)["dlq.error"].startswith(b"UnknownEventError: not JSON")


async def _has(engine, ids: set[str]) -> bool:
    return ids <= set(await count_applied(engine))


async def _committed_to_end(settings, group: str) -> bool:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group)
    await consumer.start()
    try:
        topic = settings.topic(Topic.PM)
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        ends = await consumer.end_offsets(parts)
        for tp in parts:
            committed = await consumer.committed(tp)
            if ends[tp] and (committed or 0) < ends[tp]:
                return False
        return True
    finally:
        await consumer.stop()


async def _read_dead_letters(settings):
    consumer = AIOKafkaConsumer(
        settings.topic(Topic.DEAD_LETTER),
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records = []
    try:
        batch = await consumer.getmany(timeout_ms=3000)
        for rs in batch.values():
            records.extend(rs)
    finally:
        await consumer.stop()
    return records
