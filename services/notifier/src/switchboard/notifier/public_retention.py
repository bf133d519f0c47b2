"""Retention of the notifier's copy of the public stream (`notifier.public_events`, ADR 0022):
content events hold patient data (message text, patient ids), and the table otherwise grows
for ever. Events older than `public_events_retention_days` (30 by default, as long as the
`public.content` topic keeps them) are deleted in batches of `public_events_prune_batch`,
one transaction each, oldest first, every `public_events_prune_every_s` and again at once
while a batch came back full.

An event that an endpoint has still to receive (a delivery not yet `delivered`, e.g. of a
paused endpoint) is kept whatever its age: its delivery reads the payload from this table, and
the endpoint's queue would stall behind it otherwise. Redelivery from a point in time reaches
back as far as the retention.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.notifier.handlers import Clock, utcnow
from switchboard.notifier.settings import NotifierSettings
from switchboard.platform.logging import get_logger
from switchboard.platform.outbox import OutboxLoop

log = get_logger(__name__)

_PRUNE = text(
    """
    DELETE FROM notifier.public_events
     WHERE seq IN (
        SELECT p.seq FROM notifier.public_events p
         WHERE p.occurred_at < :cutoff
           AND NOT EXISTS (
               SELECT 1 FROM notifier.event_webhook_deliveries d
                WHERE d.event_id = p.event_id AND d.status <> 'delivered')
         ORDER BY p.seq
         LIMIT :batch)
    """
)


def cutoff(now: datetime, retention_days: int) -> datetime:
    """Events that happened before this are past the retention."""
    return now - timedelta(days=retention_days)


class PublicEventsRetention(OutboxLoop):
    """A worker beside the dispatchers: each round deletes one batch (the loop runs the next
    round at once while something was deleted, else waits `public_events_prune_every_s`)."""

    def __init__(
        self,
        settings: NotifierSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock = utcnow,
    ) -> None:
        # Its period is already long: quiet or not, it prunes on time.
        super().__init__(
            settings, settings.public_events_prune_every_s, drain_timeout_s=5, idle_stretch=1
        )
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.clock = clock

    async def report_unreported(self, older_than_s: float = 10.0) -> int:
        return 0  # nothing is published

    async def claim_and_send(self) -> int:
        """Delete one batch; how many rows went."""
        when = cutoff(self.clock(), self.settings.public_events_retention_days)
        batch = self.settings.public_events_prune_batch
        async with self.sessionmaker() as session, session.begin():
            result = await session.execute(_PRUNE, {"cutoff": when, "batch": batch})
        deleted = int(getattr(result, "rowcount", 0) or 0)
        if deleted:
            log.info("public_events_pruned", count=deleted)
        # A batch that was not full was the last: wait for the next period.
        return deleted if deleted >= batch else 0
