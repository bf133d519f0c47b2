"""Inbox projection throughput: the live service (Kafka in, one PostgreSQL transaction per
poll) and the rebuild from offset 0 (X-REPLAY-1), over the same log.

    uv run python bench/inbox_projection_bench.py [--conversations 20000] [--patients 4000]

Needs the running Kafka and PostgreSQL; uses a throw-away topic prefix and database. The log
holds patients with care teams, then per conversation its SMS and its routing decision (like
the router's), so every event changes a conversation, its membership rows and their history.

1. Live: the events are written first; then `switchboard-inbox-projection run` starts as its
   own process. Reported: events/s from the first applied batch to the last event applied.
2. Rebuild: `switchboard-inbox-projection rebuild` (in process, no progress bar) into a new
   generation and switch. Reported: events/s over the whole command.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path

import httpx
from proc_cpu import cpu_seconds, per_message_ms
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "integration"))

from inbox_events import (
    KAFKA,
    conversations,
    drop_database,
    patients,
    scratch_database,
)
from inbox_support import ServiceProcess

from switchboard.events import Event
from switchboard.inbox_projection.app import MIGRATIONS
from switchboard.inbox_projection.rebuild import checksums, rebuild
from switchboard.platform.db import make_engine
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer
from switchboard.platform.migrations import upgrade
from switchboard.platform.settings import ServiceSettings


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--patients", type=int, default=4_000)
    args = parser.parse_args()
    url, name = scratch_database("sb_bench_projection")
    settings = ServiceSettings(
        service_name="inbox-bench",
        kafka_bootstrap=KAFKA,
        database_url=url,
        topic_prefix=f"ibench{uuid.uuid4().hex[:6]}.",
        producer_linger_ms=20,
    )
    proc: ServiceProcess | None = None
    try:
        upgrade(MIGRATIONS, url)
        await ensure_topics(settings)
        events: list[Event] = list(patients(args.patients))
        for received, routed in conversations(args.conversations, args.patients):
            events += [received, routed]
        producer = make_producer(settings)
        await producer.start()
        publisher = Publisher(producer, settings)
        for i in range(0, len(events), 5000):
            await publisher.publish(events[i : i + 5000], timeout_s=120)
        await producer.stop()
        total = len(events)
        print(
            f"log: {total:,} events ({args.patients:,} patients, {args.conversations:,} "
            "conversations with a message and a decision each)"
        )

        engine = create_engine(url)

        def applied() -> int:
            with engine.connect() as conn:
                return int(conn.scalar(text("SELECT count(*) FROM inbox.applied")) or 0)

        proc = ServiceProcess(
            "inbox-projection", settings, "bench-", SWITCHBOARD_LOG_LEVEL="WARNING"
        )
        proc.start()
        assert proc.proc is not None
        pid = proc.proc.pid
        first_at, first_count, cpu0 = None, 0, 0.0
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            n = applied()
            if first_at is None and n > 0:
                first_at, first_count, cpu0 = time.perf_counter(), n, cpu_seconds([pid])
            if n >= total:
                break
            await asyncio.sleep(0.05)
        done_at = time.perf_counter()
        live_cpu = cpu_seconds([pid]) - cpu0
        assert first_at is not None
        live_rate = (total - first_count) / (done_at - first_at)
        print(
            f"live projection (one process, batch per poll): {live_rate:,.0f} events/s "
            f"({total - first_count:,} events in {done_at - first_at:.1f}s); "
            f"{per_message_ms(live_cpu, total - first_count).replace('message', 'event')}"
        )
        engine.dispose()
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"{proc.url}/metrics")).text
        polls = _metric(
            metrics, 'switchboard_consumer_batch_seconds_count{consumer="inbox-projection"}'
        )
        busy = _metric(
            metrics, 'switchboard_consumer_batch_seconds_sum{consumer="inbox-projection"}'
        )
        if polls:
            print(
                f"  {polls:.0f} polls, {total / polls:,.0f} events and "
                f"{busy / polls * 1000:.0f} ms each on average (decode, transaction, Kafka "
                f"commit); {busy:.1f}s of "
                f"{done_at - first_at:.1f}s busy"
            )

        result = await rebuild(
            settings.model_copy(update={"consumer_group_prefix": f"rb{uuid.uuid4().hex[:6]}-"}),
            progress=False,
        )
        print(f"rebuild from offset 0: {result.rate:,.0f} events/s ({result.summary()})")
        aengine = make_engine(url)
        live, rebuilt = await checksums(aengine, "inbox"), await checksums(aengine, result.schema)
        await aengine.dispose()
        differ = sorted(t for t in live if live[t] != rebuilt[t])
        print(
            "rebuilt read models equal the live ones (checksum of every row): "
            + ("yes" if not differ else f"NO, tables differ: {', '.join(differ)}")
        )
    finally:
        if proc is not None:
            proc.stop()
        drop_database(name)


if __name__ == "__main__":
    asyncio.run(main())
