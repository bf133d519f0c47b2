"""The durable timer loop the snooze wake-up and the reason menu expiry share (due_events.py):
each round publishes what is due; an event log or database that is away defers the round and
the loop goes on; stop ends it."""

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter

from switchboard.events import ConversationWoke
from switchboard.platform.due_events import DueEvents
from switchboard.platform.kafka import PublishError

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def woke(n: int) -> ConversationWoke:
    snooze = uuid.UUID(int=n)
    return ConversationWoke(
        event_id=uuid.UUID(int=1000 + n),
        correlation_id=snooze,
        occurred_at=NOW,
        practice_id="p1",
        conversation_id=uuid.UUID(int=2000 + n),
        actor="system",
        snooze_id=snooze,
        why="time",
    )


class Publisher:
    def __init__(self, fail_first: int = 0) -> None:
        self.published: list[list] = []
        self.fail_first = fail_first

    async def publish(self, events) -> None:
        if self.fail_first:
            self.fail_first -= 1
            raise PublishError("no ack")
        self.published.append(list(events))


@contextlib.asynccontextmanager
async def no_session():
    yield None


def loop(find, publisher: Publisher, every_s: float = 0.01) -> tuple[DueEvents, Counter]:
    counter = Counter("due_test_total", "test", registry=CollectorRegistry())
    return DueEvents("test-timer", find, counter, no_session, publisher, every_s), counter


async def test_a_round_publishes_what_is_due_at_the_time_given_and_counts_it():
    asked: list[datetime] = []

    async def find(session, now):
        asked.append(now)
        return [woke(1), woke(2)]

    publisher = Publisher()
    timer, counter = loop(find, publisher)
    assert await timer.round(NOW) == 2
    assert asked == [NOW]
    assert [e.event_id for e in publisher.published[0]] == [woke(1).event_id, woke(2).event_id]
    assert counter._value.get() == 2


async def test_the_loop_goes_on_after_the_log_or_the_database_fails_and_stops_when_told():
    rounds = 0

    async def find(session, now):
        nonlocal rounds
        rounds += 1
        if rounds == 2:
            raise ConnectionRefusedError("database away")  # transient: deferred
        return [woke(rounds)]

    publisher = Publisher(fail_first=1)  # the first round's events are not acknowledged
    timer, _ = loop(find, publisher)
    timer.start()
    for _ in range(300):
        if len(publisher.published) >= 2:
            break
        await asyncio.sleep(0.01)
    await timer.stop()
    assert rounds >= 4
    # round 1 was refused by the log and round 2 by the database: both came again later
    assert [e.event_id for e in publisher.published[0]] == [woke(3).event_id]
    stopped_at = rounds
    await asyncio.sleep(0.05)
    assert rounds == stopped_at
