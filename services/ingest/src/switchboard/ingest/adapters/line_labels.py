"""Line labels set by practice admins (LineLabelSet, I-LINE-1), stored by the `ingest-config`
consumer in `ingest.line_labels` and laid over the Directory (domain/directory.py) at
start-up, as they are consumed and by a periodic refresh (so every replica shows them,
whichever one consumed the event)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import Column, DateTime, Table, Text, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.events import Event, LineLabelSet
from switchboard.ingest.adapters import storage
from switchboard.ingest.domain.directory import Directory, address_key
from switchboard.platform.logging import get_logger

log = get_logger(__name__)

line_labels = Table(
    "line_labels",
    storage.metadata,
    Column("practice_id", Text, primary_key=True),
    Column("channel", Text, primary_key=True),
    Column("address_key", Text, primary_key=True),
    Column("label", Text),
    Column("set_by", Text, nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
)


async def load_labels(session: AsyncSession, directory: Directory) -> int:
    """Lay every stored label over the directory; how many rows there were."""
    rows = (await session.execute(select(line_labels))).all()
    for r in rows:
        directory.relabel(r.practice_id, r.channel, r.address_key, r.label)
    return len(rows)


async def apply_config(
    session: AsyncSession, directory: Directory, events: Sequence[Event]
) -> list[Event]:
    """The `ingest-config` consumer: store each LineLabelSet for one of our lines and lay it
    over the directory at once. Other configuration events are not ingest's."""
    for e in events:
        if not isinstance(e, LineLabelSet):
            continue
        if not directory.relabel(e.practice_id, e.channel, e.address, e.label):
            continue
        stmt = insert(line_labels).values(
            practice_id=e.practice_id,
            channel=e.channel,
            address_key=address_key(e.address),
            label=e.label,
            set_by=e.actor,
            set_at=e.occurred_at,
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["practice_id", "channel", "address_key"],
                set_={"label": e.label, "set_by": e.actor, "set_at": e.occurred_at},
                where=line_labels.c.set_at <= e.occurred_at,
            )
        )
    return []


async def keep_labels_fresh(
    sessionmaker: async_sessionmaker[AsyncSession], directory: Directory, every_s: float = 5.0
) -> None:
    """Load the stored labels now and every `every_s` (another replica may have consumed a
    change). A failed load is logged and retried; it never stops the service."""
    while True:
        try:
            async with sessionmaker() as session:
                await load_labels(session, directory)
        except Exception as exc:  # the database may be briefly unavailable
            log.warning("line_labels_load_failed", error=type(exc).__name__)
        await asyncio.sleep(every_s)
