"""The snooze wake-up timer (I-SNOOZE-1): a snoozed conversation comes back open at its time.

A durable timer (platform/due_events.py): the timer *is* the read model's row (status
`snoozed`, `snoozed_until`); each round scans the active generation for snoozes that are due
and appends a ConversationWoke for each, with an id derived from the snooze (`wake_event`), at
the snooze's own time. The fold ignores a wake-up that no longer names the conversation's
snooze (the patient wrote, staff opened it, or it was snoozed again).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.events import ConversationWoke, deterministic_id
from switchboard.inbox_projection import storage
from switchboard.platform.due_events import DueEvents
from switchboard.platform.kafka import Publisher

WOKEN = Counter("switchboard_inbox_snoozes_woken_total", "Snoozed conversations woken at time")
SYSTEM = "system"


def wake_event(
    practice_id: str, conversation_id: uuid.UUID, snooze_id: uuid.UUID, until: datetime
) -> ConversationWoke:
    """The one wake-up of one snooze: the same id however often it is made."""
    return ConversationWoke(
        event_id=deterministic_id(practice_id, "snooze-wake", snooze_id),
        correlation_id=snooze_id,
        causation_id=snooze_id,
        occurred_at=until,
        practice_id=practice_id,
        conversation_id=conversation_id,
        actor=SYSTEM,
        snooze_id=snooze_id,
        why="time",
    )


async def due(session: AsyncSession, now: datetime, limit: int = 500) -> list[dict[str, Any]]:
    """Snoozes whose time has come, in the active generation."""
    schema = await session.scalar(
        text("SELECT schema_name FROM inbox.generations WHERE active LIMIT 1")
    )
    s = storage.check_generation(schema or storage.SCHEMA)
    rows = await session.execute(
        text(
            f"SELECT practice_id, conversation_id, snooze_id, snoozed_until "  # noqa: S608
            f"FROM {s}.conversations WHERE status = 'snoozed' AND snoozed_until IS NOT NULL "
            f"AND snoozed_until <= :now AND snooze_id IS NOT NULL "
            f"ORDER BY snoozed_until LIMIT :n"
        ),
        {"now": now, "n": limit},
    )
    return [dict(r) for r in rows.mappings()]


async def due_wakeups(session: AsyncSession, now: datetime) -> list[ConversationWoke]:
    return [
        wake_event(r["practice_id"], r["conversation_id"], r["snooze_id"], r["snoozed_until"])
        for r in await due(session, now)
    ]


def wake_loop(
    sessionmaker: async_sessionmaker[AsyncSession], publisher: Publisher, every_s: float = 1.0
) -> DueEvents:
    """Every `every_s`: wake the snoozes that are due."""
    return DueEvents("snooze-wake", due_wakeups, WOKEN, sessionmaker, publisher, every_s)
