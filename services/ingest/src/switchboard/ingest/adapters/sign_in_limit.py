"""The patient page's limit on failed identity checks, shared by every ingest replica and
kept across restarts: failures are rows in PostgreSQL (`ingest.sign_in_failures`).

A key (practice + phone, or practice + secure message) is stored only as an HMAC under a
server secret, so the table names no patient. Failures are counted over a sliding window;
at `limit` in `window_s` seconds, further tries are refused until the oldest of them ages
out (the answer says when: Retry-After). A success clears the key."""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.ingest.adapters import storage


def key_hash(secret: str, key: str) -> str:
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()


def blocked_for(
    recent: Sequence[datetime], now: datetime, limit: int, window_s: float
) -> int | None:
    """Seconds until a try is allowed again, or None when it is allowed now. `recent` are the
    key's failures inside the window, newest first."""
    if len(recent) < limit:
        return None
    # Allowed again once fewer than `limit` remain: when the limit-th newest ages out.
    frees_at = recent[limit - 1] + timedelta(seconds=window_s)
    return max(1, math.ceil((frees_at - now).total_seconds()))


class SignInLimiter:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession] | None,
        secret: str,
        limit: int,
        window_s: float,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.secret = secret
        self.limit = limit
        self.window_s = window_s

    def _db(self) -> AsyncSession:
        assert self.sessionmaker is not None, "the limiter needs the database"
        return self.sessionmaker()

    async def retry_after(self, key: str) -> int | None:
        """None when `key` may try now, else the seconds to wait."""
        t = storage.sign_in_failures
        window = timedelta(seconds=self.window_s)
        async with self._db() as db:
            now = (await db.execute(select(func.now()))).scalar_one()
            recent = (
                await db.execute(
                    select(t.c.failed_at)
                    .where(t.c.key_hash == key_hash(self.secret, key), t.c.failed_at > now - window)
                    .order_by(t.c.failed_at.desc())
                    .limit(self.limit)
                )
            ).scalars()
            return blocked_for(list(recent), now, self.limit, self.window_s)

    async def failed(self, key: str) -> None:
        t = storage.sign_in_failures
        window = timedelta(seconds=self.window_s)
        async with self._db() as db, db.begin():
            await db.execute(insert(t).values(key_hash=key_hash(self.secret, key)))
            # Failures older than the window never count again: keep the table small.
            await db.execute(delete(t).where(t.c.failed_at < func.now() - window))

    async def succeeded(self, key: str) -> None:
        t = storage.sign_in_failures
        async with self._db() as db, db.begin():
            await db.execute(delete(t).where(t.c.key_hash == key_hash(self.secret, key)))
