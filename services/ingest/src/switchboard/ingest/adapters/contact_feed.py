"""Keeps the in-memory ContactIndex current from the log, in every replica.

Start: read where the `ingest-contacts` group has committed on the PM topic, then load
`ingest.contacts` (offsets are committed after the table, so the table already holds at least
everything before them), then read the PM topic from those offsets onwards, for good. Records
between the offsets and the table's state are applied again: the index's rule makes that
harmless (domain/contact_index.py). The feed assigns itself every partition and never joins
or commits for the group, so each replica sees every patient, whichever partitions its
`ingest-contacts` consumer holds.

Until the first load is done the index is not ready and the webhook asks the database, as it
did before. A failed start is tried again with backoff; a failure later is aiokafka's to
reconnect.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Gauge
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.events import PatientUpserted, Topic, UnknownEventError, decode_record
from switchboard.ingest.adapters import storage
from switchboard.ingest.domain.contact_index import ContactIndex
from switchboard.platform.kafka import connection, topic_partitions
from switchboard.platform.logging import get_logger
from switchboard.platform.settings import ServiceSettings

log = get_logger(__name__)

PATIENTS = Gauge("switchboard_ingest_contact_index_patients", "Patients in the contact index")
READY = Gauge("switchboard_ingest_contact_index_ready", "1 once the contact index is loaded")


class ContactFeed:
    def __init__(
        self,
        settings: ServiceSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        index: ContactIndex,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.index = index

    async def run(self) -> None:
        delay = 0.5
        while True:
            consumer = AIOKafkaConsumer(
                **connection(self.settings),
                group_id=self.settings.group_id("ingest-contacts"),  # its offsets, never joined
                client_id=f"{self.settings.service_name}-contact-feed",
                enable_auto_commit=False,
                isolation_level="read_committed",
                auto_offset_reset="earliest",
                # Mostly idle: the broker holds each fetch this long, answering at once when
                # a record arrives (no latency): the feed costs what an idle consumer does.
                fetch_max_wait_ms=self.settings.consumer_idle_fetch_max_wait_ms,
            )
            try:
                await consumer.start()
                await self._load(consumer)
                delay = 0.5
                await self._follow(consumer)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("contact_index_retrying", error=type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
            finally:
                await consumer.stop()

    async def _load(self, consumer: AIOKafkaConsumer) -> None:
        tps = await topic_partitions(self.settings, [self.settings.topic(Topic.PM)])
        if not tps:
            raise LookupError("the PM topic has no partitions yet")
        consumer.assign(tps)
        # Before the table: whatever the group committed is in the table already.
        committed = {tp: await consumer.committed(tp) for tp in tps}
        p, c = storage.patients, storage.contacts
        async with self.sessionmaker() as session:
            who = select(p.c.practice_id, p.c.patient_id, p.c.source_updated_at)
            patients = (await session.execute(who)).all()
            contacts = (
                await session.execute(select(c.c.practice_id, c.c.contact, c.c.patient_id))
            ).all()
        index = self.index
        index.load(
            ((r.practice_id, r.patient_id, r.source_updated_at) for r in patients),
            ((r.practice_id, r.contact, r.patient_id) for r in contacts),
        )
        firsts = await consumer.beginning_offsets(tps)
        for tp, offset in committed.items():
            # An explicit position (seek_to_beginning is applied lazily, racing the reset).
            consumer.seek(tp, firsts[tp] if offset is None else offset)
        # Catch up to the end before answering webhooks from memory.
        ends = await consumer.end_offsets(tps)
        quiet = 0  # empty polls in a row: transaction markers can sit at the end
        while quiet < 3 and await _behind(consumer, ends):
            quiet = 0 if await self._apply(consumer, timeout_ms=1000) else quiet + 1
        index.ready = True
        READY.set(1)
        PATIENTS.set(len(index))
        log.info("contact_index_ready", patients=len(index))

    async def _follow(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            await self._apply(consumer, timeout_ms=5000)

    async def _apply(self, consumer: AIOKafkaConsumer, timeout_ms: int) -> bool:
        batches = await consumer.getmany(timeout_ms=timeout_ms, max_records=1000)
        for records in batches.values():
            for record in records:
                try:
                    event = decode_record(record.value, record.headers)
                except (UnknownEventError, ValueError):
                    continue  # the `ingest-contacts` consumer dead-letters it
                if isinstance(event, PatientUpserted):
                    self.index.apply(
                        event.practice_id,
                        event.patient_id,
                        event.source_updated_at,
                        (*event.phones, *event.emails),
                    )
        if batches:
            PATIENTS.set(len(self.index))
        return bool(batches)


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return True
    return False
