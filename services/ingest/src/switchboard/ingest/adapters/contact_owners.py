"""Who uses a phone or email, asked of PostgreSQL for many webhooks at once (I-THREAD-1,
I-UNREC-1: a sender is recognized when exactly one patient uses the number)."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.ingest.adapters import queries
from switchboard.rules.contacts import contact_key


class ContactOwners:
    """How many patients use a phone or email, asked for many webhooks at once: the look-ups
    that arrive while one query runs go together in the next, so a burst of webhooks costs a
    few queries and one pooled connection, not one of each per webhook."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self.pending: dict[tuple[str, str], list[asyncio.Future[int]]] = {}
        self.running = False
        self.task: asyncio.Task[None] | None = None

    async def count(self, practice_id: str, contact: str) -> int:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.pending.setdefault((practice_id, contact_key(contact)), []).append(future)
        if not self.running:
            self.running = True
            self.task = asyncio.create_task(self._drain())  # ends when nothing waits
        return await future

    async def _drain(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending, {}
                try:
                    async with self.sessionmaker() as session:
                        counts = await queries.contact_owner_counts(session, list(batch))
                except Exception as exc:
                    for futures in batch.values():
                        for f in futures:
                            if not f.done():
                                f.set_exception(exc)
                    continue
                for key, futures in batch.items():
                    for f in futures:
                        if not f.done():
                            f.set_result(counts.get(key, 0))
        finally:
            self.running = False
