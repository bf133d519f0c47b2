"""A durable timer beside a consumer: every `every_s`, publish the events that have come due
(ten times less often after a quiet minute, platform/idle.py: a snooze or a menu window ends
at most that much late while nothing else happens, and an idle service costs almost nothing).

The timer *is* a row of the service's own table (a snoozed conversation, a pending reason
menu), so a restart loses nothing. Each round reads the due rows and publishes one event for
each, with an id derived from the row: a round that dies after publishing, or two replicas in
the same round, publish the same ids again, and consumers apply an event id once. The event
is on the log, so a rebuild or replay decides the same without running any timer.

Used by the inbox's snooze wake-up and the router's reason menu expiry; the notifier's
response timers (escalations.py) also mark their rows and batch, so they keep a loop of their own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.events import Event
from switchboard.platform.consumer import is_transient
from switchboard.platform.idle import IdlePacer
from switchboard.platform.kafka import Publisher, PublishError
from switchboard.platform.logging import get_logger
from switchboard.platform.readiness import Backoff

log = get_logger(__name__)

FindDue = Callable[[AsyncSession, datetime], Awaitable[Sequence[Event]]]


class DueEvents:
    """`name` names the loop in logs and its task; `find` returns the events due at a time."""

    def __init__(
        self,
        name: str,
        find: FindDue,
        published: Counter,
        sessionmaker: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        every_s: float = 1.0,
    ) -> None:
        self.name = name
        self.find = find
        self.published = published
        self.sessionmaker = sessionmaker
        self.publisher = publisher
        self.every_s = every_s
        self.pacer = IdlePacer(every_s, started_at=time.monotonic())
        self._stopping = asyncio.Event()
        self._backoff = Backoff()
        self._task: asyncio.Task[None] | None = None

    async def round(self, now: datetime | None = None) -> int:
        """One round: publish what is due by `now` (the clock's if not given). Returns how many."""
        async with self.sessionmaker() as session:
            events = await self.find(session, now or datetime.now(UTC))
        await self.publisher.publish(events)
        self.published.inc(len(events))
        return len(events)

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                if await self.round():
                    self.pacer.worked(time.monotonic())
            except PublishError:
                log.warning("due_events_deferred", loop=self.name, why="event log unavailable")
            except Exception as exc:
                if not is_transient(exc):
                    log.exception("due_events_failed", loop=self.name)
                else:
                    log.warning("due_events_deferred", loop=self.name, why=type(exc).__name__)
            await self._backoff.sleep(self.pacer.sleep_s(time.monotonic()))

    def start(self) -> DueEvents:
        """Run beside the service's consumers (from its start-up hook)."""
        self._task = asyncio.create_task(self.run(), name=self.name)
        return self

    async def stop(self, timeout_s: float = 5.0) -> None:
        """End the loop after its current round (from the service's shutdown hook)."""
        self._stopping.set()
        self._backoff.wake()
        if self._task is not None:
            await asyncio.wait_for(self._task, timeout=timeout_s)
