"""The patient page's own copy of a message the patient sent (`portal_messages`), written
after Kafka acknowledged the message (issue 21).

Once the message is on the log it is accepted: the answer to the page is 202 whatever
happens to this copy, so a database that is slow or away never turns an accepted message
into a 503 the page would resend. The copy is written with a short wait; when that fails it
is retried in the background with backoff (an insert that does nothing twice). A crash
before the retry succeeds loses only this copy (the page then shows the practice's replies
without the patient's own message); the practice's copy is the log's."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import Attachment, MessageReceived
from switchboard.ingest.adapters import patient_store
from switchboard.platform.logging import get_logger

log = get_logger(__name__)

FIRST_WAIT_S = 2.0  # the request waits this long for the copy, no more
RETRY_DELAYS_S = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)
AWAY = (DBAPIError, OSError, TimeoutError, PoolTimeout)

Sessions = Callable[[], AsyncSession]


async def _write(
    sessions: Sessions, event: MessageReceived, attachments: Sequence[Attachment]
) -> None:
    async with sessions() as db, db.begin():
        await patient_store.record_inbound(db, event, attachments)


class PageCopies:
    """Writes the copies; keeps the background retries so they are not collected early."""

    def __init__(
        self,
        sessions: Sessions,
        delays: Sequence[float] = RETRY_DELAYS_S,
        first_wait_s: float = FIRST_WAIT_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.sessions = sessions
        self.delays = tuple(delays)
        self.first_wait_s = first_wait_s
        self.sleep = sleep
        self.pending: set[asyncio.Task[bool]] = set()

    async def keep(self, event: MessageReceived, attachments: Sequence[Attachment]) -> bool:
        """Write the copy now (True), or leave it to the background retries (False)."""
        try:
            async with asyncio.timeout(self.first_wait_s):
                await _write(self.sessions, event, attachments)
            return True
        except AWAY as exc:
            log.warning(
                "page_copy_deferred", practice_id=event.practice_id, error=type(exc).__name__
            )
        task = asyncio.create_task(self._retry(event, attachments))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)
        return False

    async def _retry(self, event: MessageReceived, attachments: Sequence[Attachment]) -> bool:
        for delay in self.delays:
            await self.sleep(delay)
            try:
                await _write(self.sessions, event, attachments)
                log.info("page_copy_written", practice_id=event.practice_id)
                return True
            except AWAY:
                continue
        log.error("page_copy_abandoned", practice_id=event.practice_id)
        return False
