"""A rebuild's bulk load: the log from offset 0 into a new generation nobody else writes yet.

The generation's state stays in memory (a `Fold` carried from batch to batch), so nothing is
read back; each batch is folded while the previous one is written (`writer`); rows that
only grow are COPYed directly; conversations, patients and care teams are written once at
the end, and the membership rows are derived from the open history intervals afterwards
(handlers.derive_membership).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.events import Event, UnknownEventError, decode, event_class
from switchboard.inbox_projection import storage
from switchboard.inbox_projection.handlers import BulkKeys, write, write_state
from switchboard.inbox_projection.model import HANDLED, Fold

# (event_type header, version header, value): what the load needs of a Kafka record
Raw = tuple[bytes | None, bytes | None, bytes]


def fast_decode(event_type: bytes | None, version: bytes | None, value: bytes) -> Event:
    """The event: straight from JSON (pydantic's parser) when the producer's headers name the
    current version, else the full decode (with upcasting). Both validate the whole event."""
    if event_type is not None and version is not None:
        try:
            cls = event_class(event_type.decode())
        except UnknownEventError:
            cls = None
        if cls is not None and str(cls.model_fields["version"].default) == version.decode():
            event: Event = cls.model_validate_json(value)
            return event
    return decode(value)


class BulkLoader:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], schema: str) -> None:
        self.sessionmaker = sessionmaker
        self.tables = storage.tables(schema)
        self.state = Fold(emit=False)
        self.seen: set[uuid.UUID] = set()
        self.keys = BulkKeys()
        self.skipped = 0
        self.pending: asyncio.Queue[Fold | None] = asyncio.Queue(maxsize=2)
        self.writing = asyncio.create_task(self._writer(), name="rebuild-writer")

    async def _writer(self) -> None:
        while (fold := await self.pending.get()) is not None:
            async with self.sessionmaker() as session, session.begin():
                await write(session, self.tables, fold, membership=False, bulk=self.keys)

    async def feed(self, raws: Sequence[Raw]) -> None:
        """Fold a batch (in log order) and queue it for writing."""
        fresh: list[Event] = []
        for event_type, version, value in raws:
            try:
                e = fast_decode(event_type, version, value)
            except (UnknownEventError, ValidationError):
                self.skipped += 1
                continue
            if isinstance(e, HANDLED) and e.event_id not in self.seen:
                self.seen.add(e.event_id)
                fresh.append(e)
        if not fresh:
            return
        fold = self.state.next_batch()
        fold.apply(fresh)
        if self.writing.done():
            self.writing.result()  # raises what the writer failed with
        await self.pending.put(fold)

    async def finish(self) -> None:
        await self.pending.put(None)
        await self.writing
        async with self.sessionmaker() as session, session.begin():
            await write_state(session, self.tables, self.state)

    def cancel(self) -> None:
        if not self.writing.done():
            self.writing.cancel()
