"""switchboard-dlq against the real Kafka and PostgreSQL (issue 21, dead letters re-driven):
a poison record a consumer dead-letters is listed and shown without patient data, shown
with it only through the audited flag, and after the fix replayed to its own consumer group,
which applies it exactly once however often it is replayed; each replay is an event."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import Column, Integer, MetaData, Table, Text, select, text
from sqlalchemy.dialects.postgresql import insert

from switchboard.events import (
    DeadLetterPayloadViewed,
    DeadLetterReplayed,
    Event,
    LocationUpserted,
    Topic,
    decode,
    deterministic_id,
)
from switchboard.events.topics import REPLAY_TOPICS
from switchboard.platform.consumer import ConsumerRunner
from switchboard.platform.db import make_engine, make_sessionmaker, processed_events_table
from switchboard.platform.dlq import kafka_io
from switchboard.platform.dlq.cli import run
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer

pytestmark = pytest.mark.integration

meta = MetaData(schema="dlqtool")
processed = processed_events_table(meta)
applied = Table(
    "applied",
    meta,
    Column("consumer", Text, primary_key=True),
    Column("event_id", Text, primary_key=True),
    Column("n", Integer),
)
NOW = datetime(2026, 12, 3, 21, 0, tzinfo=UTC)
# Stands for patient data in the payload: it must never show unless asked with the flag.
PATIENT = f"Jane-Doe-{uuid.uuid4().hex[:8]}"


class Handler:
    """Applies locations; fails on the poison one while `broken` (the bug before the fix)."""

    def __init__(self, consumer: str, broken: bool) -> None:
        self.consumer = consumer
        self.broken = broken

    async def __call__(self, session, events: Sequence[Event]) -> list[Event]:
        for e in events:
            if self.broken and PATIENT in getattr(e, "name", ""):
                raise ValueError(f"cannot apply {getattr(e, 'name', '')}")
            await session.execute(
                insert(applied)
                .values(consumer=self.consumer, event_id=str(e.event_id), n=1)
                .on_conflict_do_update(
                    index_elements=[applied.c.consumer, applied.c.event_id],
                    set_={"n": applied.c.n + 1},
                )
            )
        return []


def location(name: str) -> LocationUpserted:
    eid = deterministic_id("dlq-tool", name)
    return LocationUpserted(
        event_id=eid,
        occurred_at=NOW,
        practice_id="dlqtest",
        correlation_id=eid,
        location_id=name[:60],
        name=name,
    )


@pytest.fixture(scope="module")
async def world(settings):
    # A topic prefix of this module's own: `list` sees only these dead letters.
    settings = settings.model_copy(update={"topic_prefix": f"d{uuid.uuid4().hex[:8]}."})
    engine = make_engine(settings.database_url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS dlqtool CASCADE"))
        await conn.execute(text("CREATE SCHEMA dlqtool"))
        await conn.run_sync(meta.create_all)
    await ensure_topics(settings)
    # Consumers that join before the new topics have leaders are assigned nothing until their
    # next metadata refresh (minutes): wait for the leaders first.
    await until(
        lambda: _led(
            settings,
            [Topic.PM, Topic.REPLAY_ROUTER, Topic.REPLAY_INBOX_PROJECTION, Topic.DEAD_LETTER],
        ),
        60,
    )
    producer = make_producer(settings)
    await producer.start()
    publisher = Publisher(producer, settings)
    # The router fails on the poison record; the inbox projection, reading the same topic,
    # applies it at once (replays must not reach it again).
    router = Handler("router", broken=True)
    runners = [
        ConsumerRunner(
            name=h.consumer,
            topics=[Topic.PM],
            handler=h,
            settings=settings,
            sessionmaker=make_sessionmaker(engine),
            processed=processed,
            publisher=publisher,
        )
        for h in (router, Handler("inbox-projection", broken=False))
    ]
    tasks = [asyncio.create_task(r.run()) for r in runners]
    poison, good = location(f"Clinic of {PATIENT}"), location(f"good-{uuid.uuid4().hex}")
    await publisher.publish([poison, good])
    async with asyncio.timeout(60):
        while not (await kafka_io.dead_letters(settings) and await _count(engine, good, "router")):
            assert not any(t.done() for t in tasks), [t.exception() for t in tasks if t.done()]
            await asyncio.sleep(0.2)
    yield settings, engine, router, poison
    for r in runners:
        r.stop()
    await asyncio.gather(*tasks)
    await producer.stop()
    await engine.dispose()


async def until(check, limit_s: float = 30.0) -> None:
    async with asyncio.timeout(limit_s):
        while True:
            if await check():
                return
            await asyncio.sleep(0.1)


async def _led(settings, topics: list[Topic]) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([settings.topic(t) for t in topics])
    finally:
        await admin.close()
    return len(described) == len(topics) and all(
        t.get("error_code") == 0
        and t["partitions"]
        and all(p["leader"] >= 0 for p in t["partitions"])
        for t in described
    )


async def _count(engine, event: Event, consumer: str) -> int:
    async with engine.connect() as conn:
        n = await conn.scalar(
            select(applied.c.n).where(
                applied.c.consumer == consumer, applied.c.event_id == str(event.event_id)
            )
        )
    return n or 0


async def _outcome(engine, event: Event, consumer: str) -> str | None:
    async with engine.connect() as conn:
        return await conn.scalar(
            select(processed.c.outcome).where(
                processed.c.consumer == consumer, processed.c.event_id == event.event_id
            )
        )


async def cli(settings, *argv: str) -> tuple[int, str]:
    lines: list[str] = []
    code = await run(argv, settings, out=lines.append)
    return code, "\n".join(lines)


async def operations(settings) -> list[Event]:
    records = await kafka_io.read_topic(settings, settings.topic(Topic.OPERATIONS))
    return [decode(r.value) for r in records]


async def _replay_consumed(settings, consumer: str) -> bool:
    """The group committed its replay topic to the end: it has seen every replay."""
    topic = settings.topic(REPLAY_TOPICS[consumer])
    reader = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=settings.group_id(consumer)
    )
    await reader.start()
    try:
        tps = [TopicPartition(topic, p) for p in await kafka_io.partitions(settings, topic)]
        ends = await reader.end_offsets(tps)
        committed = {tp: await reader.committed(tp) or 0 for tp in tps}
        return all(committed[tp] >= ends[tp] for tp in tps)
    finally:
        await reader.stop()


async def _dead_letter_id(settings) -> str:
    code, out = await cli(settings, "list", "--json", "--consumer", "router")
    assert code == 0
    [row] = [json.loads(line) for line in out.splitlines()]
    return row["id"]


async def test_list_shows_consumer_reason_and_time_without_patient_data(world):
    settings, _engine, _router, poison = world
    code, out = await cli(settings, "list")
    assert code == 0
    assert PATIENT not in out
    [line] = [x for x in out.splitlines() if " router " in x]
    assert "switchboard.pm" in line and "LocationUpserted" in line
    assert "ValueError: (message withheld)" in line
    assert datetime.now(UTC).strftime("%Y-%m-%d") in line  # when it failed
    assert "inbox-projection" not in out  # it applied the record: nothing dead-lettered

    code, out = await cli(settings, "list", "--json", "--consumer", "router", "--since", "1h")
    [row] = [json.loads(x) for x in out.splitlines()]
    assert row["event_id"] == str(poison.event_id)
    assert row["consumer"] == "router" and row["attempts"] == settings.consumer_max_attempts
    assert PATIENT not in out
    # filters that exclude it
    for argv in (["--reason", "timeout"], ["--topic", "switchboard.messages"], ["--consumer", "x"]):
        code, out = await cli(settings, "list", "--json", *argv)
        assert (code, out) == (0, "")


async def test_show_prints_the_payload_only_with_the_audited_flag(world):
    settings, _engine, _router, poison = world
    dl = await _dead_letter_id(settings)
    code, out = await cli(settings, "show", dl)
    assert code == 0
    shown = json.loads(out)
    assert shown["consumer"] == "router" and shown["event_id"] == str(poison.event_id)
    assert PATIENT not in out and "payload (patient data)" not in out
    assert not [e for e in await operations(settings) if isinstance(e, DeadLetterPayloadViewed)]

    # the flag without a reason is refused, and shows nothing
    code, out = await cli(settings, "show", dl, "--with-patient-data", "--operator", "alice")
    assert (code, out) == (2, "")

    code, out = await cli(
        settings, "show", dl, "--with-patient-data", "--why", "TICKET-42", "--operator", "alice"
    )
    assert code == 0
    assert PATIENT in out.split("--- payload (patient data) ---")[1]
    [viewed] = [e for e in await operations(settings) if isinstance(e, DeadLetterPayloadViewed)]
    assert (viewed.operator, viewed.why, viewed.dead_letter_id) == ("alice", "TICKET-42", dl)
    assert viewed.dead_event_id == poison.event_id and viewed.consumer == "router"
    assert PATIENT not in viewed.model_dump_json()


async def test_replay_after_the_fix_applies_it_once_to_its_own_consumer(world):
    settings, engine, router, poison = world
    dl = await _dead_letter_id(settings)
    assert await _count(engine, poison, "router") == 0
    assert await _outcome(engine, poison, "router") == "dead-lettered"

    router.broken = False  # the fix is deployed
    code, out = await cli(settings, "replay", dl, "--operator", "bob", "--why", "TICKET-43")
    assert code == 0, out
    await until(lambda: _count(engine, poison, "router"))
    assert await _outcome(engine, poison, "router") == "replayed"

    # A second replay: the tool refuses it; forced, the consumer drops it (same event id).
    code, out = await cli(settings, "replay", dl, "--operator", "bob")
    assert code == 0 and "already replayed" in out and "0 replayed" in out
    code, out = await cli(
        settings, "replay", "--consumer", "router", "--force", "--operator", "bob"
    )
    assert code == 0 and "1 replayed" in out
    await until(lambda: _replay_consumed(settings, "router"))
    assert await _count(engine, poison, "router") == 1
    # only the consumer that failed saw it again
    assert await _count(engine, poison, "inbox-projection") == 1
    assert await _replay_consumed(settings, "inbox-projection")

    replays = [e for e in await operations(settings) if isinstance(e, DeadLetterReplayed)]
    assert [(e.dead_letter_id, e.operator, e.forced) for e in replays] == [
        (dl, "bob", False),
        (dl, "bob", True),
    ]
    assert replays[0].why == "TICKET-43"
    assert replays[0].replay_topic == settings.topic(Topic.REPLAY_ROUTER)
    assert replays[0].dead_event_id == poison.event_id
    code, out = await cli(settings, "list", "--json")
    assert PATIENT not in out
    assert [json.loads(x)["replayed"] for x in out.splitlines()] == [2]


async def test_replay_needs_a_selection_and_an_operator(world):
    settings, *_ = world
    code, _ = await cli(settings, "replay", "--operator", "bob")
    assert code == 2
    code, _ = await cli(settings, "replay", "--all", "--operator", " ")
    assert code == 2
    code, out = await cli(settings, "replay", "99:99", "--operator", "bob")
    assert code == 1 and "no such dead letter" in out
