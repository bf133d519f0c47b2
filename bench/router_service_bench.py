"""Router service throughput, Kafka in and out, durable settings, against a bare aiokafka
consume-then-produce pass-through on the same topics, in the same run.

    uv run python bench/router_service_bench.py [--count 20000] [--patients 500] [--replicas 1]
        [--rate 0]

Needs the running Kafka and PostgreSQL (`make up`, or scripts/kafka.sh + scripts/postgres.sh).
Uses a throw-away topic prefix and database. The router runs as its own process
(`switchboard-router run`), with routing on (reason + location), 20 subscriptions and
`--patients` patients with contacts and upcoming appointments, so every message reads real
state. Both sides: producer acks=all with idempotence; offsets committed only after the
output is acknowledged (the router also commits its PostgreSQL transaction first).

Reported: messages/s from the first input written to the last output acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from aiokafka import AIOKafkaConsumer
from proc_cpu import cpu_seconds, per_message_ms
from sqlalchemy import create_engine, text

from switchboard.events import (
    AppointmentChanged,
    Event,
    LocationUpserted,
    MessageReceived,
    PatientUpserted,
    RoutingSettingsChanged,
    StaffSubscriptionsSet,
    Topic,
    deterministic_id,
)
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer
from switchboard.platform.settings import ServiceSettings

PG_PORT = int(os.environ.get("PG_PORT", "55432"))
KAFKA = os.environ.get("SWITCHBOARD_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
# the routers' HTTP ports (readiness): a second run at the same time needs another base
PORT_BASE = int(os.environ.get("BENCH_ROUTER_PORT_BASE", "18950"))
PRACTICE = "bench"
NOW = datetime.now(UTC)
LOCATIONS = [f"loc-{i}" for i in range(3)]
REASONS = ["prescriptions_refills", "test_lab_results", "billing", "appointments", "other"]


def ids(*parts: object) -> dict[str, object]:
    eid = deterministic_id("router-bench", *map(str, parts))
    return {"event_id": eid, "correlation_id": eid, "practice_id": PRACTICE, "occurred_at": NOW}


def setup_events(patients: int) -> list[Event]:
    out: list[Event] = [
        RoutingSettingsChanged(
            actor="bench", reason_routing=True, location_routing=True, **ids("settings")
        )
    ]
    out += [LocationUpserted(location_id=loc, name=loc, **ids("loc", loc)) for loc in LOCATIONS]
    for i in range(20):
        out.append(
            StaffSubscriptionsSet(
                actor="bench",
                staff_id=f"staff-{i}",
                reasons=(REASONS[i % len(REASONS)], "other"),
                locations=(LOCATIONS[i % 3], "location_unknown"),
                **ids("sub", i),
            )
        )
    for p in range(patients):
        out.append(
            PatientUpserted(
                patient_id=f"p{p}",
                phones=(phone(p),),
                source_updated_at=NOW,
                **ids("patient", p),
            )
        )
        out.append(
            AppointmentChanged(
                appointment_id=f"a{p}",
                patient_id=f"p{p}",
                change="booked",
                status="booked",
                start=NOW + timedelta(days=1 + p % 30),
                location_id=LOCATIONS[p % 3],
                source_updated_at=NOW,
                **ids("appt", p),
            )
        )
    return out


def phone(p: int) -> str:
    return f"+1212{p:07d}"


def messages(count: int, patients: int, tag: str) -> list[MessageReceived]:
    out = []
    for i in range(count):
        p = i % patients
        web = i % 2 == 0
        out.append(
            MessageReceived(
                message_id=deterministic_id("router-bench", tag, "m", i),
                conversation_id=deterministic_id("router-bench", tag, "c", p),
                channel="web_chat" if web else "sms",
                sender=f"p{p}@example.org" if web else phone(p),
                recipient="portal" if web else "+12125550100",
                provider="bench",
                provider_message_id=f"{tag}-{i}",
                received_at=NOW + timedelta(seconds=i),
                body="benchmark message",
                patient_id=f"p{p}" if web else None,
                selected_reason=REASONS[i % len(REASONS)] if web else None,
                **ids(tag, "msg", i),
            )
        )
    return out


async def count_until(settings: ServiceSettings, topic: str, count: int, timeout_s: float) -> float:
    """Wait until `topic` holds `count` records; return the time the last one was seen."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    seen = 0
    try:
        async with asyncio.timeout(timeout_s):
            while seen < count:
                batches = await consumer.getmany(timeout_ms=100, max_records=10000)
                seen += sum(len(r) for r in batches.values())
        return time.perf_counter()
    finally:
        await consumer.stop()


async def produce(publisher: Publisher, events: list[Event]) -> None:
    for start in range(0, len(events), 2000):
        await publisher.publish(events[start : start + 2000], timeout_s=60)


async def produce_at(publisher: Publisher, events: list[Event], rate: int) -> None:
    """`rate` messages a second, in steps of 10 ms (each step's share written at once)."""
    step, started = max(1, rate // 100), time.perf_counter()
    for i in range(0, len(events), step):
        await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        await publisher.publish(events[i : i + step], timeout_s=60)


async def pass_through(
    settings: ServiceSettings, source: str, sink: str, count: int, ready: asyncio.Event
) -> None:
    """The bare minimum a durable router could do: consume, produce with acks=all, commit.
    Starts at the end of `source` and sets `ready` once positioned there."""
    producer = make_producer(settings)
    await producer.start()
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"{settings.topic_prefix}pass-through",
        enable_auto_commit=False,
        auto_offset_reset="latest",
        isolation_level="read_committed",
        max_poll_records=500,
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    while not consumer.assignment():
        await consumer.getmany(timeout_ms=100)
    for tp in consumer.assignment():
        await consumer.position(tp)
    ready.set()
    done = 0
    try:
        while done < count:
            batches = await consumer.getmany(timeout_ms=200, max_records=500)
            futures = [
                await producer.send(sink, value=r.value, key=r.key)
                for rs in batches.values()
                for r in rs
            ]
            await asyncio.gather(*futures)
            if batches:
                await consumer.commit({tp: rs[-1].offset + 1 for tp, rs in batches.items()})
            done += len(futures)
    finally:
        await consumer.stop()
        await producer.stop()


async def run(count: int, patients: int, replicas: int, rate: int = 0) -> None:
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    db = f"sb_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    url = f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/{db}"
    settings = ServiceSettings(service_name="bench", kafka_bootstrap=KAFKA, topic_prefix=prefix)
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    publisher = Publisher(producer, settings)
    exe = os.path.join(os.path.dirname(sys.executable), "switchboard-router")
    routers = []
    for i in range(replicas):
        env = {
            **os.environ,
            "SWITCHBOARD_ENV": "dev",  # a bench run: warn about secrets, never refuse
            "SWITCHBOARD_KAFKA_BOOTSTRAP": KAFKA,
            "SWITCHBOARD_DATABASE_URL": url,
            "SWITCHBOARD_TOPIC_PREFIX": prefix,
            "SWITCHBOARD_HTTP_PORT": str(PORT_BASE + i),
            "SWITCHBOARD_LOG_LEVEL": "WARNING",
        }
        if i == 0:  # as a release does: `migrate` first (`run` never migrates)
            migrate = await asyncio.create_subprocess_exec(exe, "migrate", env=env)
            if await migrate.wait():
                raise SystemExit("switchboard-router migrate failed")
        routers.append(await asyncio.create_subprocess_exec(exe, "run", env=env))
    try:
        async with httpx.AsyncClient(timeout=1) as client:
            for i in range(replicas):
                while True:
                    try:
                        ready = await client.get(f"http://127.0.0.1:{PORT_BASE + i}/readyz")
                        if ready.status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.2)
        await produce(publisher, setup_events(patients))
        await asyncio.sleep(5)  # let the routers join and apply the setup before timing

        batch = messages(count, patients, "router")
        pids = [r.pid for r in routers]
        cpu0 = cpu_seconds(pids)
        started = time.perf_counter()
        await (produce_at(publisher, batch, rate) if rate else produce(publisher, batch))
        written = time.perf_counter()
        finished = await count_until(settings, settings.topic(Topic.ROUTING), count, timeout_s=600)
        router_cpu = cpu_seconds(pids) - cpu0
        router_rate = count / (finished - started)
        offered = f" offered at {rate}/s" if rate else ""
        print(
            f"router service, {replicas} process(es): {count} messages{offered} "
            f"in {finished - started:.2f}s "
            f"= {router_rate:,.0f} msg/s (input written in {written - started:.2f}s); "
            f"router {per_message_ms(router_cpu, count)}"
        )
        for router in routers:
            router.terminate()
            await router.wait()

        # Same topics, same way of timing: from the first input written to the last output.
        sink = settings.topic(Topic.NOTIFICATIONS)
        source = settings.topic(Topic.MESSAGES)
        ready = asyncio.Event()
        task = asyncio.create_task(pass_through(settings, source, sink, count, ready))
        await ready.wait()
        started = time.perf_counter()
        await produce(publisher, messages(count, patients, "pass"))
        finished = await count_until(settings, sink, count, timeout_s=600)
        await task
        pass_rate = count / (finished - started)
        print(
            f"bare aiokafka pass-through: {count} messages in {finished - started:.2f}s "
            f"= {pass_rate:,.0f} msg/s"
        )
        print(f"ratio router / pass-through: {router_rate / pass_rate:.2f}")
    finally:
        for router in routers:
            if router.returncode is None:
                router.terminate()
                await router.wait()
        await producer.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--replicas", type=int, default=1, help="router processes (one group)")
    parser.add_argument(
        "--rate",
        type=int,
        default=0,
        help="offer the messages at this rate (per second) instead of all at once: the CPU "
        "per message at a moderate rate, where each batch holds few",
    )
    args = parser.parse_args()
    asyncio.run(run(args.count, args.patients, args.replicas, args.rate))


if __name__ == "__main__":
    main()
