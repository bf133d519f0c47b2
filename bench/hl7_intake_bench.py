"""How many SIU messages per second pm-sync's HL7 intake acknowledges over ONE MLLP
connection (real TCP on 127.0.0.1).

    uv run python bench/hl7_intake_bench.py [--count 20000] [--window 1 64 256]
    uv run python bench/hl7_intake_bench.py --in-process [--count 5000]      # no Kafka

The default (the figure that counts): the real pm-sync app (build_app, its lifespan, its own
consumer projecting into PostgreSQL in the same process) against the running Kafka and
PostgreSQL (`make up`, or scripts/kafka.sh + scripts/postgres.sh), on a throw-away topic
prefix and database. Durable settings: acks=all, idempotent producer, every ACK written
only after Kafka acknowledged that message's event. --in-process: parse + ACK with a
trivial in-process publish, no Kafka, no service.

window 1 is HL7 original mode (send, wait for the ACK, send the next); a larger window
pipelines messages on the connection (the server still answers in order, and publishes the
messages that arrived together in one batch).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from switchboard.platform.logging import configure_logging
from switchboard.pm_sync.adapters.mllp import MLLPClient, MLLPServer, ack_code
from switchboard.pm_sync.domain.hl7_mapping import parse_hl7
from switchboard.pm_sync.entrypoints.hl7_intake import hl7_callback
from switchboard_demo.practice import generate_demo

PG_PORT = int(os.environ.get("PG_PORT", "55432"))
KAFKA = os.environ.get("SWITCHBOARD_KAFKA_BOOTSTRAP", "127.0.0.1:19092")


def siu_messages(count: int, tag: str = "B") -> list[str]:
    demo = generate_demo(seed=1, now=datetime(2025, 3, 10, tzinfo=UTC))
    base = [m for m in demo.hl7_messages() if "|SIU^" in m]
    out = []
    for i in range(count):
        text = base[i % len(base)]
        control = text.split("|")[9]
        out.append(text.replace(f"|{control}|", f"|{tag}{i:09d}|", 1))  # unique control ids
    return out


async def in_process(count: int, windows: list[int]) -> None:
    messages = siu_messages(count)
    published = 0

    async def publish(events) -> None:
        nonlocal published
        published += len(events)

    started = time.perf_counter()
    for m in messages[: min(count, 2000)]:
        parse_hl7(m, "demo", default_tz="America/New_York")
    parse_rate = min(count, 2000) / (time.perf_counter() - started)
    print(f"parse only:            {parse_rate:8.0f} SIU msgs/s (in process)")

    callback = hl7_callback("demo", publish, default_tz="America/New_York")
    async with MLLPServer(callback, port=0) as server, MLLPClient("127.0.0.1", server.port) as c:
        await c.send_many(messages[:200], window=4)  # warm up
        for window in windows:
            published = 0
            started = time.perf_counter()
            acks = await c.send_many(messages, window=window)
            elapsed = time.perf_counter() - started
            accepted = sum(ack_code(a) == "AA" for a in acks)
            assert accepted == count == published, (accepted, published)
            print(
                f"MLLP parse + ACK:      {count / elapsed:8.0f} SIU msgs/s "
                f"({count} messages, window {window}, one connection, {elapsed:.2f}s, no Kafka)"
            )


@contextlib.asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    from sqlalchemy import create_engine, text

    name = f"sb_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def durable(count: int, windows: list[int]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    from switchboard.events import Topic
    from switchboard.platform.kafka import ensure_topics
    from switchboard.platform.migrations import upgrade
    from switchboard.pm_sync.entrypoints.app import MIGRATIONS, build_app
    from switchboard.pm_sync.settings import PmSyncSettings

    prefix = f"bench{uuid.uuid4().hex[:6]}."
    async with scratch_database() as url:
        settings = PmSyncSettings(
            service_name="pm-sync-bench",
            kafka_bootstrap=KAFKA,
            database_url=url,
            topic_prefix=prefix,
            mllp_port=0,
            default_timezone="America/New_York",
        )
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        await ensure_topics(settings)
        app = build_app(settings)
        try:
            async with app.router.lifespan_context(app):
                port = app.state.mllp.port
                async with MLLPClient("127.0.0.1", port, timeout_s=60) as client:
                    await client.send_many(siu_messages(300, "W"), window=16)  # warm up
                    for window in windows:
                        messages = siu_messages(count, f"W{window}x")
                        started = time.perf_counter()
                        acks = await client.send_many(messages, window=window)
                        elapsed = time.perf_counter() - started
                        accepted = sum(ack_code(a) == "AA" for a in acks)
                        assert accepted == count, f"{count - accepted} not accepted"
                        print(
                            f"durable MLLP intake:   {count / elapsed:8.0f} SIU msgs/s "
                            f"acknowledged ({count} messages, window {window}, one connection, "
                            f"{elapsed:.2f}s; Kafka acks=all, idempotent, ACK after Kafka ack)"
                        )
        finally:
            admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
            await admin.start()
            with contextlib.suppress(Exception):
                await admin.delete_topics([settings.topic(t) for t in Topic])
            await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument("--window", type=int, nargs="+", default=None)
    parser.add_argument("--in-process", action="store_true", help="no Kafka, no service")
    args = parser.parse_args()
    configure_logging("hl7-bench", "WARNING")
    if args.in_process:
        asyncio.run(in_process(args.count or 5000, args.window or [1]))
    else:
        asyncio.run(durable(args.count or 20000, args.window or [1, 64, 256]))


if __name__ == "__main__":
    main()
