"""Response timers are durable (X-SLA-1): the notifier is run as its console script, killed
with SIGKILL while timers are pending and firing, and started again; every timer fires
exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from notifier_support import TopicReader, eventually, free_port
from sqlalchemy import create_engine, text

from switchboard.events import MessageRouted, PracticeNotificationSettingsChanged, Topic
from switchboard.notifier.app import MIGRATIONS
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer
from switchboard.platform.migrations import upgrade
from switchboard.platform.settings import ServiceSettings

pytestmark = pytest.mark.integration

TIMERS = 40
SCRIPT = Path(sys.executable).parent / "switchboard-notifier"


@pytest.fixture
def own_db(settings):
    """A database of this test's own: no other notifier's timers in it."""
    name = f"sb_test_nt_{uuid.uuid4().hex[:8]}"
    base, _ = settings.database_url.rsplit("/", 1)
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def start(settings: ServiceSettings, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "SWITCHBOARD_ENV": "dev",  # a test run: warn about secrets, never refuse
        "SWITCHBOARD_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SWITCHBOARD_DATABASE_URL": settings.database_url,
        "SWITCHBOARD_TOPIC_PREFIX": settings.topic_prefix,
        "SWITCHBOARD_HTTP_PORT": str(port),
        "SWITCHBOARD_TIMER_POLL_S": "0.1",
        "SWITCHBOARD_TIMER_BATCH_MAX": "3",
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [str(SCRIPT), "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT status, count(*) FROM notifier.timers GROUP BY status"))
        out = {status: n for status, n in rows}
    engine.dispose()
    return out


# covers X-SLA-1
async def test_sigkill_with_timers_pending_then_restart_fires_each_exactly_once(settings, own_db):
    s = ServiceSettings(
        **(
            settings.model_dump()
            | {"database_url": own_db, "topic_prefix": f"k{uuid.uuid4().hex[:8]}."}
        )
    )
    upgrade(MIGRATIONS, own_db)
    await ensure_topics(s)
    producer = make_producer(s)
    await producer.start()
    publisher = Publisher(producer, s)
    now = datetime.now(UTC)
    eid = uuid.uuid4()
    await publisher.publish(
        [
            PracticeNotificationSettingsChanged(
                event_id=eid,
                occurred_at=now - timedelta(minutes=5),
                practice_id="durable",
                correlation_id=eid,
                actor="u-admin",
                sla_minutes=1,
            )
        ]
    )
    convs = [uuid.uuid4() for _ in range(TIMERS)]
    # One-minute target, decided 52..58 s ago: due between 2 and 8 seconds from now.
    routed = []
    for i, conv in enumerate(convs):
        at = now - timedelta(seconds=58) + timedelta(seconds=6 * i / TIMERS)
        e = uuid.uuid4()
        routed.append(
            MessageRouted(
                event_id=e,
                occurred_at=at,
                practice_id="durable",
                correlation_id=e,
                message_id=uuid.uuid4(),
                conversation_id=conv,
                reason="refills",
                reason_source="none",
                recipients=("u-1",),
                decided_at=at,
            )
        )
    await publisher.publish(routed)
    await producer.stop()

    port = free_port()
    proc = start(s, port)
    try:
        await eventually(lambda: sum(counts(own_db).values()) == TIMERS, within=60)
        await eventually(lambda: counts(own_db).get("fired", 0) >= TIMERS // 4, within=30)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        at_kill = counts(own_db)
        assert at_kill.get("pending", 0) > 0, f"all fired before the kill: {at_kill}"
        await asyncio.sleep(3)  # the rest fall due while nothing runs
        assert counts(own_db) == at_kill
        proc = start(s, port)
        await eventually(lambda: counts(own_db).get("fired", 0) == TIMERS, within=60)
        async with TopicReader(s, Topic.NOTIFICATIONS) as out:
            await eventually(
                lambda: len({e.event_id for e in out.of("ConversationEscalated")}) == TIMERS,
                within=30,
            )
            await asyncio.sleep(1.5)  # more timer rounds: nothing fires again
            escalations = out.of("ConversationEscalated")
            ids = {e.event_id for e in escalations}
            assert len(ids) == TIMERS
            assert sorted(
                str(e.conversation_id) for e in {e.event_id: e for e in escalations}.values()
            ) == sorted(str(c) for c in convs)
            # A kill between publish and commit may repeat a record, never with a new id.
            duplicates = len(escalations) - len(ids)
            assert duplicates <= 3, duplicates  # at most one batch (timer_batch_max=3)
        assert counts(own_db) == {"fired": TIMERS}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
