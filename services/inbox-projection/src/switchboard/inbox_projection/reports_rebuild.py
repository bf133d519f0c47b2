"""Rebuild the reports read model from the log (X-REPLAY-1, X-REPORT-1).

1. Create a new generation (schema `inbox_reports_r<n>`) with its tables.
2. Read every partition of the reports' topics from the earliest offset up to the end offsets
   seen at the start (consumer group `<prefix>inbox-reports-rebuild-<schema>`, never the live
   one) and apply each batch with the live handler's code, one transaction each.
3. Switch `inbox.report_generations` under the exclusive switch lock: every live batch after
   it writes to the new generation.
4. Catch up to the end offsets seen after the switch (whatever the live consumer applied to the
   old generation before the switch is before them).

The fold is order-free (reports_model.py), so records are applied in the order they are
fetched, with no watermark across partitions (the inbox's rebuild needs one).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.events import Event, UnknownEventError
from switchboard.inbox_projection import reports_storage as rs
from switchboard.inbox_projection.bulk import fast_decode
from switchboard.inbox_projection.rebuild import partitions
from switchboard.inbox_projection.reports_handlers import apply_batch
from switchboard.inbox_projection.reports_model import REPORT_TOPICS
from switchboard.platform.db import make_engine, make_sessionmaker
from switchboard.platform.kafka import connection
from switchboard.platform.logging import get_logger
from switchboard.platform.settings import ServiceSettings

log = get_logger(__name__)


@dataclass
class ReportsRebuildResult:
    schema: str
    events: int
    skipped: int
    seconds: float
    switched: bool

    def summary(self) -> str:
        state = "active" if self.switched else "built, not switched"
        return (
            f"rebuilt reports {self.schema} ({state}): {self.events} events in "
            f"{self.seconds:.1f}s, {self.skipped} unreadable records skipped"
        )


async def new_generation(engine: AsyncEngine) -> str:
    g = rs.report_generations
    async with engine.begin() as conn:
        names = (await conn.execute(select(g.c.schema_name))).scalars().all()
        numbers = [int(m.group(1)) for n in names if (m := re.match(r"^inbox_reports_r(\d+)$", n))]
        schema = f"inbox_reports_r{max(numbers, default=1) + 1}"
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await conn.run_sync(rs.create_generation, schema)
        await conn.execute(g.insert().values(schema_name=schema, active=False))
    return schema


async def switch_to(engine: AsyncEngine, schema: str, events: int) -> None:
    rs.check_generation(schema)
    g = rs.report_generations
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": rs.SWITCH_LOCK})
        await conn.execute(update(g).where(g.c.active).values(active=False))
        await conn.execute(
            update(g)
            .where(g.c.schema_name == schema)
            .values(active=True, activated_at=text("now()"), events=events)
        )


async def prune(engine: AsyncEngine, keep: int = 1) -> list[str]:
    """Drop the inactive generations but the `keep` most recent; the first one (in schema
    inbox, beside the inbox's own tables) is emptied instead."""
    g = rs.report_generations
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": rs.SWITCH_LOCK})
        rows = await conn.execute(
            select(g.c.schema_name).where(~g.c.active).order_by(g.c.created_at.desc())
        )
        old = [r.schema_name for r in rows][keep:]
        for schema in old:
            rs.check_generation(schema)
            if schema == rs.SCHEMA:
                names = ", ".join(f"inbox.{t.name}" for t in rs.gen.sorted_tables)
                await conn.execute(text(f"TRUNCATE {names}"))
            else:
                await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                await conn.execute(g.delete().where(g.c.schema_name == schema))
    return old


async def rebuild_reports(
    settings: ServiceSettings, *, switch: bool = True, batch: int = 5_000
) -> ReportsRebuildResult:
    engine = make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    started = time.perf_counter()
    schema = await new_generation(engine)
    consumer = AIOKafkaConsumer(
        **connection(settings),
        group_id=settings.group_id(f"inbox-reports-rebuild-{schema}"),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        fetch_max_wait_ms=20,
    )
    applied = skipped = 0
    await consumer.start()
    try:
        tps = await partitions(settings, [settings.topic(t) for t in REPORT_TOPICS])
        if not tps:
            raise RuntimeError("none of the reports' topics exist: nothing to rebuild")
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)

        async def drain(end: dict[TopicPartition, int]) -> None:
            nonlocal applied, skipped
            while True:
                reading = [tp for tp in tps if await consumer.position(tp) < end[tp]]
                if not reading:
                    break
                got = await consumer.getmany(*reading, timeout_ms=500, max_records=batch)
                events: list[Event] = []
                for tp, records in got.items():
                    for r in records:
                        if r.offset >= end[tp]:
                            consumer.seek(tp, r.offset)  # the catch-up reads it
                            break
                        headers = dict(r.headers or ())
                        try:
                            events.append(
                                fast_decode(
                                    headers.get("event_type"), headers.get("version"), r.value
                                )
                            )
                        except (UnknownEventError, ValidationError):
                            skipped += 1
                        applied += 1
                if events:
                    async with sessionmaker() as session, session.begin():
                        await apply_batch(session, events, schema)
            await consumer.commit({tp: end[tp] for tp in tps})

        await drain(dict(await consumer.end_offsets(tps)))
        if switch:
            await switch_to(engine, schema, applied)
            await drain(dict(await consumer.end_offsets(tps)))
    finally:
        await consumer.stop()
        await engine.dispose()
    seconds = time.perf_counter() - started
    log.info("reports_rebuilt", schema=schema, events=applied, seconds=round(seconds, 2))
    return ReportsRebuildResult(schema, applied, skipped, seconds, switch)


async def checksums(engine: AsyncEngine, schema: str) -> dict[str, tuple[int, str]]:
    """Per table of a generation: (rows, md5 over every row in a fixed order)."""
    rs.check_generation(schema)
    out: dict[str, tuple[int, str]] = {}
    async with engine.connect() as conn:
        for table in rs.CHECKSUMMED:
            row = (
                await conn.execute(
                    text(
                        f"SELECT count(*), coalesce(md5(string_agg(r, '|' ORDER BY r)), '') "  # noqa: S608
                        f'FROM (SELECT t::text AS r FROM "{schema}".{table.name} t) x'
                    )
                )
            ).one()
            out[table.name] = (int(row[0]), str(row[1]))
    return out
