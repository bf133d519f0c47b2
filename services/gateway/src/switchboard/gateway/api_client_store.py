"""API clients in `gateway.api_clients` (api_clients.py has the rules): create, list, rotate,
revoke, authenticate a secret, and which clients are active now (per request, cached
briefly). Every query is scoped to a practice (T-1) except `authenticate` and `ActiveClients`,
which look a client up by its id (it names its practice)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from switchboard.gateway import storage
from switchboard.gateway.api_clients import clean_name, new_client_id, new_secret
from switchboard.gateway.auth import hash_password, verify_password
from switchboard.gateway.settings import GatewaySettings

t = storage.api_clients


class ApiClientOut(BaseModel):
    """An API client as admins see it (never its secret)."""

    client_id: str
    name: str
    created_by: str
    created_at: datetime
    rotated_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    active: bool


def _out(row: Any) -> ApiClientOut:
    return ApiClientOut(
        client_id=row.client_id,
        name=row.name,
        created_by=row.created_by,
        created_at=row.created_at,
        rotated_at=row.rotated_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
        active=row.revoked_at is None,
    )


async def list_clients(db: AsyncSession, practice_id: str) -> list[ApiClientOut]:
    rows = await db.execute(
        select(t).where(t.c.practice_id == practice_id).order_by(t.c.created_at, t.c.client_id)
    )
    return [_out(r) for r in rows]


async def create(
    db: AsyncSession, practice_id: str, name: str, actor: str
) -> tuple[ApiClientOut, str]:
    """A new client and its secret (the only time it is readable)."""
    secret = new_secret()
    row = (
        await db.execute(
            insert(t)
            .values(
                client_id=new_client_id(),
                practice_id=practice_id,
                name=clean_name(name),
                secret_hash=hash_password(secret),
                created_by=actor,
            )
            .returning(t)
        )
    ).one()
    return _out(row), secret


async def rotate(
    db: AsyncSession, practice_id: str, client_id: str
) -> tuple[ApiClientOut, str] | None:
    """A new secret for an active client (the old one and its tokens stop working)."""
    secret = new_secret()
    row = (
        await db.execute(
            update(t)
            .where(
                t.c.practice_id == practice_id,
                t.c.client_id == client_id,
                t.c.revoked_at.is_(None),
            )
            .values(
                secret_hash=hash_password(secret),
                secret_version=t.c.secret_version + 1,
                rotated_at=func.now(),
            )
            .returning(t)
        )
    ).first()
    return None if row is None else (_out(row), secret)


async def revoke(
    db: AsyncSession, practice_id: str, client_id: str, actor: str
) -> ApiClientOut | None:
    """Revoked for good (kept, so the audit still names it); revoking twice changes nothing."""
    where = (t.c.practice_id == practice_id, t.c.client_id == client_id)
    await db.execute(
        update(t)
        .where(*where, t.c.revoked_at.is_(None))
        .values(revoked_at=func.now(), revoked_by=actor)
    )
    row = (await db.execute(select(t).where(*where))).first()
    return None if row is None else _out(row)


async def authenticate(db: AsyncSession, client_id: str, secret: str) -> Any | None:
    """The active client with this id and secret (its row), else None."""
    row = (
        await db.execute(select(t).where(t.c.client_id == client_id, t.c.revoked_at.is_(None)))
    ).first()
    # argon2 in a thread: it is slow on purpose and must not stall the event loop.
    if row is None or not await asyncio.to_thread(verify_password, row.secret_hash, secret):
        return None
    await db.execute(update(t).where(t.c.client_id == client_id).values(last_used_at=func.now()))
    return row


async def names(db: AsyncSession, practice_id: str) -> dict[str, str]:
    """Every client of the practice by id: its name (to name its actions)."""
    rows = await db.execute(select(t.c.client_id, t.c.name).where(t.c.practice_id == practice_id))
    return {r.client_id: r.name for r in rows}


class ActiveClients:
    """Whether a client token is still good: its client is active in its practice and its
    secret version is current. Answers are kept `ttl_s` seconds; this replica's own
    rotations and revocations forget them at once (`forget`)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], ttl_s: float) -> None:
        self.sessionmaker = sessionmaker
        self.ttl_s = ttl_s
        self._seen: dict[str, tuple[float, tuple[str, int] | None]] = {}

    async def current(self, client_id: str) -> tuple[str, int] | None:
        """(practice, secret version) of an active client, or None."""
        now = time.monotonic()
        hit = self._seen.get(client_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        async with self.sessionmaker() as db:
            row = (
                await db.execute(
                    select(t.c.practice_id, t.c.secret_version).where(
                        t.c.client_id == client_id, t.c.revoked_at.is_(None)
                    )
                )
            ).first()
        found = None if row is None else (str(row.practice_id), int(row.secret_version))
        if len(self._seen) > 10_000:
            self._seen.clear()  # bounded: ids come from signed tokens, but be safe
        self._seen[client_id] = (now + self.ttl_s, found)
        return found

    async def is_active(self, client_id: str, practice_id: str, version: int) -> bool:
        return await self.current(client_id) == (practice_id, version)

    def forget(self, client_id: str) -> None:
        self._seen.pop(client_id, None)


def active_clients_of(conn: HTTPConnection) -> ActiveClients:
    """The app's cache of active clients, made on first use (a request or a WebSocket)."""
    state = conn.app.state
    found: ActiveClients | None = getattr(state, "active_clients", None)
    if found is None:
        settings: GatewaySettings = state.settings
        found = ActiveClients(state.runtime.sessionmaker, settings.api_client_check_s)
        state.active_clients = found
    return found
