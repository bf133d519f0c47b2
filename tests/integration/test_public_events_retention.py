"""Retention of the notifier's copy of the public stream (public_retention.py, issue 16):
on the real PostgreSQL, events past the retention go in batches, oldest first; newer ones
stay, and so does an old one an endpoint has still to receive (its queue would stall)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from switchboard.notifier import storage
from switchboard.notifier.app import MIGRATIONS
from switchboard.notifier.public_retention import PublicEventsRetention
from switchboard.notifier.settings import NotifierSettings
from switchboard.platform.db import make_engine, make_sessionmaker
from switchboard.platform.migrations import upgrade

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _event(days_ago: float, practice: str = "demo") -> dict:
    return {
        "event_id": uuid.uuid4(),
        "practice_id": practice,
        "conversation_id": uuid.uuid4(),
        "event_type": "public.message.content",
        "occurred_at": NOW - timedelta(days=days_ago),
        "payload": {"text": "patient content"},
    }


async def test_old_public_events_are_deleted_in_batches(settings, own_db):
    upgrade(MIGRATIONS, own_db)
    engine = make_engine(own_db)
    sessions = make_sessionmaker(engine)
    old = [_event(40 + i) for i in range(5)]
    pending_old = _event(60)  # a paused endpoint has still to receive it
    delivered_old = _event(50)
    recent = [_event(1), _event(29)]
    endpoint = uuid.uuid4()
    try:
        async with sessions() as s, s.begin():
            await s.execute(
                insert(storage.public_events),
                [*old, pending_old, delivered_old, *recent],
            )
            await s.execute(
                insert(storage.event_deliveries),
                [
                    {
                        "delivery_id": uuid.uuid4(),
                        "endpoint_id": endpoint,
                        "practice_id": "demo",
                        "conversation_id": e["conversation_id"],
                        "event_id": e["event_id"],
                        "event_type": e["event_type"],
                        "occurred_at": e["occurred_at"],
                        "status": status,
                    }
                    for e, status in ((pending_old, "pending"), (delivered_old, "delivered"))
                ],
            )
        ns = NotifierSettings(
            service_name="notifier",
            database_url=own_db,
            public_events_retention_days=30,
            public_events_prune_batch=4,
        )
        retention = PublicEventsRetention(ns, sessions, clock=lambda: NOW)
        # 6 past the retention and deletable (5 old + the delivered one): a full batch of 4
        # (the loop goes on at once), then 2 (not full: it waits for the next period)
        assert await retention.claim_and_send() == 4
        assert await retention.claim_and_send() == 0
        assert await retention.claim_and_send() == 0
        async with sessions() as s:
            left = set((await s.execute(select(storage.public_events.c.event_id))).scalars())
            total = (
                await s.execute(select(func.count()).select_from(storage.public_events))
            ).scalar()
        assert left == {pending_old["event_id"], *(e["event_id"] for e in recent)}
        assert total == 3
    finally:
        await engine.dispose()


def test_the_default_retention_is_safe():
    ns = NotifierSettings(service_name="notifier")
    assert ns.public_events_retention_days == 30  # as long as the public.content topic
    with pytest.raises(ValueError):
        NotifierSettings(service_name="notifier", public_events_retention_days=0)
