"""Kill -9 one of three brokers while the project's Publisher produces and its consumer
policy writes to PostgreSQL: every acknowledged event ends up in PostgreSQL exactly once,
and consuming goes on. Topics at replication factor 3, min.insync.replicas 2 (production).

Select with `pytest -m kafka_cluster`; it starts its own three-broker cluster (a few
minutes on a loaded machine) and never touches the shared single broker.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from kafka_cluster import kafka_cluster  # noqa: F401  (the fixture)
from sqlalchemy import Column, Integer, MetaData, Table, Text, func, select, text

from switchboard.events import Event, LocationUpserted, Topic, deterministic_id
from switchboard.platform.consumer import ConsumerRunner
from switchboard.platform.db import make_engine, make_sessionmaker, processed_events_table
from switchboard.platform.kafka import Publisher, PublishError, ensure_topics, make_producer
from switchboard.platform.settings import ServiceSettings

pytestmark = [pytest.mark.integration, pytest.mark.kafka_cluster]

meta = MetaData(schema="brokerkill")
processed = processed_events_table(meta)
# No unique key on purpose: a duplicate application would show as a second row.
received = Table("received", meta, Column("event_id", Text), Column("seq", Integer))

TOTAL = 600  # events produced
BATCH = 10  # events per publish call (one acks=all wait)
KILL_AT = 200  # events acknowledged before the kill
LIMIT_S = 240  # bound on producing, and again on draining


def event(run: str, seq: int) -> LocationUpserted:
    eid = deterministic_id("brokerkill", run, str(seq))
    return LocationUpserted(
        event_id=eid,
        occurred_at=datetime.now(UTC),
        practice_id=f"bk{seq % 12}",  # spread over the partitions
        correlation_id=eid,
        location_id=f"loc-{seq}",
        name=f"location {seq}",
    )


async def record(session, events: Sequence[Event]) -> list[Event]:
    await session.execute(
        received.insert(),
        [{"event_id": str(e.event_id), "seq": int(e.location_id[4:])} for e in events],  # type: ignore[attr-defined]
    )
    return []


async def topic_settings(bootstrap: str, name: str) -> tuple[set[int], str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        # A new topic reaches every broker within moments; until then a broker answers with no
        # partitions, or (describe_configs goes to any broker) with an error and no entries.
        for _ in range(100):
            described = await admin.describe_topics([name])
            partitions = described[0]["partitions"]
            configs = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, name, {"min.insync.replicas": None})]
            )
            entries = {e[0]: e[1] for r in configs for res in r.resources for e in res[4]}
            if partitions and "min.insync.replicas" in entries:
                return {len(p["replicas"]) for p in partitions}, entries["min.insync.replicas"]
            await asyncio.sleep(0.2)
        raise AssertionError(f"topic {name} not described by the cluster within 20 s")
    finally:
        await admin.close()


async def test_killing_a_broker_loses_nothing_acknowledged(kafka_cluster, test_db):  # noqa: F811
    settings = ServiceSettings(
        service_name="brokerkill",
        kafka_bootstrap=kafka_cluster.bootstrap,
        database_url=test_db,
        topic_prefix=f"bk{uuid.uuid4().hex[:6]}.",
        kafka_replication_factor=3,
        publish_timeout_s=5.0,
        consumer_backoff_initial_s=0.05,
        consumer_backoff_max_s=1.0,
    )
    run = uuid.uuid4().hex
    engine = make_engine(test_db)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE SCHEMA IF NOT EXISTS brokerkill"))
        await conn.run_sync(meta.create_all)
    await ensure_topics(settings)
    replicas, min_isr = await topic_settings(settings.kafka_bootstrap, settings.topic(Topic.PM))
    assert replicas == {3}
    assert min_isr == "2"

    producer = make_producer(settings)
    await producer.start()
    publisher = Publisher(producer, settings)
    runner = ConsumerRunner(
        name=f"brokerkill-{run[:6]}",
        topics=[Topic.PM],
        handler=record,
        settings=settings,
        sessionmaker=make_sessionmaker(engine),
        processed=processed,
        publisher=publisher,
    )
    consuming = asyncio.create_task(runner.run())
    acked: list[tuple[float, list[str]]] = []  # (time acknowledged, event ids)
    failures = 0
    killed_at: float | None = None
    killed_node = 0
    try:
        started = time.monotonic()
        for first in range(0, TOTAL, BATCH):
            batch = [event(run, s) for s in range(first, first + BATCH)]
            if killed_at is None and first >= KILL_AT:
                # the broker leading the first partition: its partitions must fail over
                producer.client.cluster.request_update()
                leader = producer.client.cluster.leader_for_partition(
                    TopicPartition(settings.topic(Topic.PM), 0)
                )
                killed_node = leader if leader in (1, 2, 3) else 1
                kafka_cluster.kill(killed_node)
                killed_at = time.monotonic()
            while True:  # not acknowledged: send the same events again (same ids)
                assert time.monotonic() - started < LIMIT_S, "producing did not finish"
                try:
                    await publisher.publish(batch)
                    acked.append((time.monotonic(), [str(e.event_id) for e in batch]))
                    break
                except PublishError:
                    failures += 1
                    await asyncio.sleep(0.2)

        assert killed_at is not None
        acked_ids = [i for _, ids in acked for i in ids]
        after_kill = [i for t, ids in acked if t > killed_at for i in ids]
        deadline = time.monotonic() + LIMIT_S
        while True:
            assert not consuming.done(), consuming.exception()
            async with engine.connect() as conn:
                rows = (
                    await conn.execute(
                        select(received.c.event_id, func.count()).group_by(received.c.event_id)
                    )
                ).all()
            counts = {r[0]: r[1] for r in rows}
            if set(acked_ids) <= set(counts) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    finally:
        runner.stop()
        await asyncio.wait_for(consuming, 30)
        await producer.stop()
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA brokerkill CASCADE"))
        await engine.dispose()

    times = [killed_at] + [t for t, _ in acked if t > killed_at]
    pause = max(b - a for a, b in itertools.pairwise(times))
    print(
        f"\nbroker {killed_node} killed after {KILL_AT} events; producing paused "
        f"{pause:.2f} s at most; {failures} publish attempts not acknowledged and retried; "
        f"{len(acked_ids)} events acknowledged, {len(after_kill)} after the kill"
    )
    missing = set(acked_ids) - set(counts)
    assert not missing, f"{len(missing)} acknowledged events never reached PostgreSQL"
    duplicated = {i: n for i, n in counts.items() if n != 1}
    assert not duplicated, f"applied more than once: {len(duplicated)}"
    assert len(acked_ids) == TOTAL
    assert set(counts) == set(acked_ids)  # nothing foreign, nothing unacknowledged-only
    assert after_kill  # the consumer went on with events produced after the kill
