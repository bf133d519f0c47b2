"""The gateway's limit on failed sign-ins: staff passwords (POST /api/auth/login, keyed by
username) and API client secrets (POST /api/oauth/token, keyed by client id). Shared by every
gateway replica and kept across restarts: failures are rows in `gateway.sign_in_failures`,
the key only as an HMAC under the token signing key. As the patient page's limiter (ingest):
at `limit` failures in `window_s` seconds further tries are refused, right or wrong, until
the oldest ages out (Retry-After); a success clears the key."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from fastapi import Request
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.gateway import storage
from switchboard.gateway.api_clients import blocked_for
from switchboard.gateway.app_state import settings_of


class SignInLimiter:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        secret: str,
        limit: int,
        window_s: float,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.secret = secret
        self.limit = limit
        self.window_s = window_s

    def _hash(self, key: str) -> str:
        return hmac.new(self.secret.encode(), key.encode(), hashlib.sha256).hexdigest()

    async def retry_after(self, key: str) -> int | None:
        """None when `key` may try now, else the seconds to wait."""
        t = storage.sign_in_failures
        window = timedelta(seconds=self.window_s)
        async with self.sessionmaker() as db:
            now = (await db.execute(select(func.now()))).scalar_one()
            recent = await db.execute(
                select(t.c.failed_at)
                .where(t.c.key_hash == self._hash(key), t.c.failed_at > now - window)
                .order_by(t.c.failed_at.desc())
                .limit(self.limit)
            )
            return blocked_for(list(recent.scalars()), now, self.limit, self.window_s)

    async def failed(self, key: str) -> None:
        t = storage.sign_in_failures
        window = timedelta(seconds=self.window_s)
        async with self.sessionmaker() as db, db.begin():
            await db.execute(insert(t).values(key_hash=self._hash(key)))
            # Failures older than the window never count again: keep the table small.
            await db.execute(delete(t).where(t.c.failed_at < func.now() - window))

    async def succeeded(self, key: str) -> None:
        t = storage.sign_in_failures
        async with self.sessionmaker() as db, db.begin():
            await db.execute(delete(t).where(t.c.key_hash == self._hash(key)))


def limiter_of(request: Request) -> SignInLimiter:
    """The app's limiter, made on first use (the runtime exists only once started)."""
    found: SignInLimiter | None = getattr(request.app.state, "sign_in_limiter", None)
    if found is None:
        settings = settings_of(request)
        found = SignInLimiter(
            request.app.state.runtime.sessionmaker,
            settings.jwt_secret.get_secret_value(),
            settings.sign_in_failure_limit,
            settings.sign_in_failure_window_s,
        )
        request.app.state.sign_in_limiter = found
    return found
