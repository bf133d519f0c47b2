"""The contact index of every ingest replica (ADR 0031): loaded from `ingest.contacts`, then
fed from the PM topic from where the `ingest-contacts` group committed, for good. So it knows
what the table knows, what the group has not applied yet, and what comes later, and a
webhook needs no database to recognize a sender (I-THREAD-1, I-UNREC-1)."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from ingest_support import own_database, prepare
from notifier_support import eventually
from sqlalchemy import insert

from switchboard.events import PatientUpserted
from switchboard.ingest.adapters import storage
from switchboard.ingest.adapters.contact_feed import ContactFeed
from switchboard.ingest.domain.contact_index import ContactIndex
from switchboard.ingest.settings import IngestSettings
from switchboard.platform.db import make_engine, make_sessionmaker
from switchboard.platform.kafka import Publisher, make_producer

pytestmark = pytest.mark.integration

PG_PORT = int(os.environ.get("PG_PORT", "55432"))
P = "feed-practice"
TABLE_ONLY, LOGGED, NEW = "+12125550111", "+12125550112", "+12125550113"
T0 = datetime(2026, 12, 7, 9, tzinfo=UTC)


def upsert(patient_id: str, phones: tuple[str, ...], at: datetime) -> PatientUpserted:
    eid = uuid.uuid4()
    return PatientUpserted(
        event_id=eid,
        occurred_at=datetime.now(UTC),
        practice_id=P,
        correlation_id=eid,
        patient_id=patient_id,
        given_name="Test",
        family_name="Patient",
        phones=phones,
        source_updated_at=at,
    )


async def test_the_feed_knows_the_table_the_log_beyond_it_and_what_comes_later(settings):
    # covers I-THREAD-1, I-UNREC-1
    with own_database(PG_PORT) as db:
        s = IngestSettings(
            kafka_bootstrap=settings.kafka_bootstrap,
            database_url=db,
            topic_prefix=f"feed{uuid.uuid4().hex[:6]}.",
            service_name="ingest-feed-it",
            practices=[P],
        )
        await prepare(s)
        engine = make_engine(db)
        # What the `ingest-contacts` consumer wrote earlier (its records no longer in view).
        async with engine.begin() as conn:
            await conn.execute(
                insert(storage.patients).values(
                    practice_id=P, patient_id="pat-table", source_updated_at=T0
                )
            )
            await conn.execute(
                insert(storage.contacts).values(
                    practice_id=P, contact=TABLE_ONLY, patient_id="pat-table"
                )
            )
        producer = make_producer(s)
        await producer.start()
        publisher = Publisher(producer, s)
        # In the log, not yet applied by the group (nothing committed).
        await publisher.publish([upsert("pat-log", (LOGGED,), T0)])
        index = ContactIndex()
        feed = asyncio.create_task(ContactFeed(s, make_sessionmaker(engine), index).run())
        try:
            await eventually(lambda: index.ready, within=30)
            assert index.owners(P, TABLE_ONLY) == 1
            assert index.owners(P, LOGGED) == 1
            # Later records are followed: a new number, and a number now shared by two.
            await publisher.publish(
                [
                    upsert("pat-log", (NEW, TABLE_ONLY), T0 + timedelta(minutes=1)),
                    upsert("pat-late", (LOGGED,), T0 - timedelta(days=1)),
                ]
            )
            await eventually(lambda: index.owners(P, TABLE_ONLY) == 2, within=30)
            assert index.owners(P, NEW) == 1
            assert index.owners(P, LOGGED) == 1  # pat-log moved off it, pat-late is on it
        finally:
            feed.cancel()
            await asyncio.gather(feed, return_exceptions=True)
            await producer.stop()
            await engine.dispose()
