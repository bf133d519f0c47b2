"""Rebuild the inbox read models from the log (X-REPLAY-1).

1. Create a new generation (schema `inbox_r<n>`) with every table.
2. Read every partition of the projection's topics from the earliest offset up to the end
   offsets seen at the start, in consumer group `<consumer_group_prefix>inbox-rebuild-<n>`
   (never the live group), applying big batches with the live handler's fold, one
   transaction each, with a progress bar.
3. Switch: under the exclusive switch lock, mark the new generation active. Live batches take
   that lock shared, so once the switch commits every live batch writes to the new one.
4. Catch up: read on to the end offsets seen after the switch. Whatever the live consumer
   applied to the old generation before the switch is on the log before those offsets; the
   per-generation `applied` record makes events both see count once.
"""

from __future__ import annotations

import asyncio
import gc
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import ValidationError
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.expression import Executable
from tqdm import tqdm

from switchboard.events import Event, UnknownEventError
from switchboard.inbox_projection import storage
from switchboard.inbox_projection.bulk import ASYNC_COMMIT, BulkLoader, Raw, fast_decode
from switchboard.inbox_projection.handlers import apply_batch
from switchboard.inbox_projection.log_order import release
from switchboard.inbox_projection.model import TOPICS
from switchboard.platform.db import make_engine, make_sessionmaker
from switchboard.platform.kafka import connection
from switchboard.platform.kafka import topic_partitions as partitions
from switchboard.platform.logging import get_logger
from switchboard.platform.settings import ServiceSettings

log = get_logger(__name__)


@dataclass
class RebuildResult:
    schema: str
    events: int
    skipped: int
    seconds: float
    switched: bool
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        state = "active" if self.switched else "built, not switched"
        return (
            f"rebuilt {self.schema} ({state}): {self.events} events in {self.seconds:.1f}s "
            f"({self.rate:,.0f} events/s), {self.skipped} unreadable records skipped; "
            + ", ".join(f"{k} {v:.1f}s" for k, v in self.phases.items())
        )


async def new_generation(engine: AsyncEngine) -> str:
    async with engine.begin() as conn:
        names = (await conn.execute(select(storage.generations.c.schema_name))).scalars().all()
        numbers = [int(m.group(1)) for n in names if (m := re.match(r"^inbox_r(\d+)$", n))]
        schema = f"inbox_r{max(numbers, default=1) + 1}"
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await conn.run_sync(storage.create_generation, schema, True)
        await conn.execute(storage.generations.insert().values(schema_name=schema, active=False))
    return schema


async def switch_to(engine: AsyncEngine, schema: str, events: int) -> None:
    storage.check_generation(schema)
    g = storage.generations
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": storage.SWITCH_LOCK})
        await conn.execute(update(g).where(g.c.active).values(active=False))
        await conn.execute(
            update(g)
            .where(g.c.schema_name == schema)
            .values(active=True, activated_at=text("now()"), events=events)
        )


async def prune(engine: AsyncEngine, keep: int = 1) -> list[str]:
    """Free the generations no longer needed: all inactive ones but the `keep` most recently
    made (kept to switch back to). An `inbox_r<n>` schema is dropped; the first generation,
    whose schema also holds the pointer and the consumer's record, is emptied."""
    g = storage.generations
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": storage.SWITCH_LOCK})
        rows = await conn.execute(
            select(g.c.schema_name).where(~g.c.active).order_by(g.c.created_at.desc())
        )
        old = [r.schema_name for r in rows][keep:]
        for schema in old:
            storage.check_generation(schema)
            if schema == storage.SCHEMA:
                names = ", ".join(f"inbox.{t.name}" for t in storage.gen.sorted_tables)
                await conn.execute(text(f"TRUNCATE {names}"))
            else:
                await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                await conn.execute(g.delete().where(g.c.schema_name == schema))
    return old


class _Reader:
    def __init__(self, settings: ServiceSettings, group: str, topics: list[str]) -> None:
        self.settings = settings
        self.topics = topics
        self.consumer = AIOKafkaConsumer(
            **connection(settings),
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_partition_fetch_bytes=8 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
            # At the end of the log a fetch waits this long for data, and the end offsets
            # asked for meanwhile (the start, the catch-up) wait behind it on the connection.
            fetch_max_wait_ms=20,
        )
        self.partitions: list[TopicPartition] = []

    async def start(self) -> None:
        await self.consumer.start()
        self.partitions = await partitions(self.settings, self.topics)
        if not self.partitions:
            raise RuntimeError("none of the projection's topics exist: nothing to rebuild")
        self.consumer.assign(self.partitions)
        await self.consumer.seek_to_beginning(*self.partitions)

    async def end_offsets(self) -> dict[TopicPartition, int]:
        return dict(await self.consumer.end_offsets(self.partitions))

    async def remaining(self, end: dict[TopicPartition, int]) -> int:
        total = 0
        for tp in self.partitions:
            total += max(0, end[tp] - await self.consumer.position(tp))
        return total

    async def stop(self) -> None:
        await self.consumer.stop()


async def rebuild(
    settings: ServiceSettings,
    *,
    switch: bool = True,
    batch: int = 10_000,
    progress: bool = True,
) -> RebuildResult:
    # The cyclic garbage collector would walk the load's in-memory state (which only grows)
    # again and again, for nothing: the fold makes no reference cycles, so reference counting
    # frees whatever it drops. Off for the rebuild, back on after.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return await _rebuild(settings, switch=switch, batch=batch, progress=progress)
    finally:
        if collecting:
            gc.enable()


async def _rebuild(
    settings: ServiceSettings, *, switch: bool, batch: int, progress: bool
) -> RebuildResult:
    engine = make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    started = time.perf_counter()
    schema = await new_generation(engine)
    reader = _Reader(
        settings,
        settings.group_id(f"inbox-rebuild-{schema}"),
        [settings.topic(t) for t in TOPICS],
    )
    await reader.start()
    applied = skipped = 0
    bar = tqdm(total=0, unit="ev", desc=f"rebuild {schema}", disable=not progress)

    # The bulk load (bulk.py), then the catch-up after the switch through the live path.
    bulk = True
    loader = BulkLoader(sessionmaker, schema)

    async def apply(records: list[ConsumerRecord]) -> None:
        nonlocal applied, skipped
        if bulk:
            raws: list[Raw] = []
            for r in records:
                headers = dict(r.headers or ())
                raws.append((headers.get("event_type"), headers.get("version"), r.value))
            await loader.feed(raws)
        else:
            events: list[Event] = []
            for r in records:
                headers = dict(r.headers or ())
                try:
                    events.append(
                        fast_decode(headers.get("event_type"), headers.get("version"), r.value)
                    )
                except (UnknownEventError, ValidationError):
                    skipped += 1
            if events:
                async with sessionmaker() as session, session.begin():
                    await apply_batch(session, events, schema, emit=False)
        applied += len(records)
        bar.update(len(records))

    async def drain(end: dict[TopicPartition, int]) -> None:
        """Apply every record before `end`: each partition in offset order, as the live
        consumer does, merged across partitions by record time (log_order.py). A record is
        released only once every partition still being read has buffered one at least as
        late (a watermark), whatever order the fetches come back in."""
        fetched = {tp: await reader.consumer.position(tp) for tp in reader.partitions}
        bar.total = (bar.total or 0) + sum(max(0, end[tp] - fetched[tp]) for tp in fetched)
        bar.refresh()
        # in (topic, partition) order: ties in time are released in that order
        buffers: dict[TopicPartition, deque[ConsumerRecord]] = {
            tp: deque() for tp in sorted(reader.partitions)
        }
        while True:
            reading = [tp for tp in reader.partitions if fetched[tp] < end[tp]]
            if reading:
                got = await reader.consumer.getmany(*reading, timeout_ms=500, max_records=batch)
                for tp, rs in got.items():
                    for r in rs:
                        if r.offset >= end[tp]:
                            reader.consumer.seek(tp, r.offset)  # the next drain reads it
                            break
                        buffers[tp].append(r)
                        fetched[tp] = r.offset + 1
                for tp in reading:
                    if tp not in got:  # only control records left (transaction markers)?
                        fetched[tp] = max(fetched[tp], await reader.consumer.position(tp))
                reading = [tp for tp in reader.partitions if fetched[tp] < end[tp]]
            if any(not buffers[tp] for tp in reading):
                continue  # wait until every partition still being read has data
            watermark = min((buffers[tp][-1].timestamp for tp in reading), default=None)
            released = release(buffers, watermark)
            for i in range(0, len(released), batch):
                await apply(released[i : i + batch])
            if not reading and not any(buffers.values()):
                break
        await reader.consumer.commit({tp: end[tp] for tp in reader.partitions})

    phases: dict[str, float] = {}
    mark = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases[name] = now - mark
        mark = now

    # Index builds at once on a few connections (CREATE INDEX takes a SHARE lock), each table's
    # as soon as it is loaded.
    building = asyncio.Semaphore(3)

    async def ddl(*statements: Executable) -> None:
        async with building, engine.begin() as conn:
            await conn.execute(ASYNC_COMMIT)
            await conn.execute(text("SET LOCAL maintenance_work_mem = '128MB'"))
            for statement in statements:
                await conn.execute(statement)

    async def indexed(tables: list[str], load: Callable[[], Awaitable[None]] | None) -> None:
        if load is not None:
            await load()
        await asyncio.gather(*(ddl(s) for t in tables for s in storage.deferred_ddl(schema, t)))
        finish = [s for t in tables for s in storage.finish_ddl(schema, t)]
        if finish:
            await ddl(*finish)

    try:
        await drain(await reader.end_offsets())
        phase("read and fold")
        # The state is complete: conversations, patients, care teams, membership and its
        # history are written (each on its own connection) while the writer finishes the
        # last batches; the append-only tables get their indexes once it has, each table
        # as soon as it is loaded.
        state = ["conversations", "patients", "care_teams"]
        done = {*state, "membership", "membership_history"}
        rest = sorted((n for n in storage.tables(schema) if n not in done), key="messages".__ne__)
        await asyncio.gather(
            indexed(["membership"], loader.write_membership),
            indexed(["membership_history"], loader.write_history),
            indexed(state, loader.write_state),
            indexed(rest, loader.drained),
        )
        skipped += loader.skipped
        phase("writes and indexes")
        bulk = False
        if switch:
            await switch_to(engine, schema, applied)
            await drain(await reader.end_offsets())
            phase("switch and catch-up")
    finally:
        loader.cancel()
        bar.close()
        await reader.stop()
        await engine.dispose()
    seconds = time.perf_counter() - started
    log.info("inbox_rebuilt", schema=schema, events=applied, seconds=round(seconds, 2))
    return RebuildResult(schema, applied, skipped, seconds, switch, phases)


async def checksums(engine: AsyncEngine, schema: str) -> dict[str, tuple[int, str]]:
    """Per table of a generation: (rows, md5 over every row's every column, in a fixed
    order). Two generations with equal checksums hold the same read models."""
    storage.check_generation(schema)
    out: dict[str, tuple[int, str]] = {}
    async with engine.connect() as conn:
        for table in storage.CHECKSUMMED:
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
