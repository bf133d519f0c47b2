"""Queries on the gateway's own staff table (storage.users), scoped to one practice (T-1):
the staff as principals (who could see a view, X-ASOF-1) and the staff directory by name."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.gateway import storage
from switchboard.gateway.auth import Principal


async def practice_staff(session: AsyncSession, practice_id: str) -> list[Principal]:
    u = storage.users.c
    rows = await session.execute(
        select(u.user_id, u.practice_id, u.role, u.policies).where(u.practice_id == practice_id)
    )
    return [Principal(r.user_id, r.practice_id, r.role, frozenset(r.policies)) for r in rows]


async def directory(session: AsyncSession, practice_id: str) -> list[dict[str, str]]:
    """The practice's staff by id and name, ordered by name. No patient data."""
    u = storage.users.c
    rows = await session.execute(
        select(u.user_id, u.display_name)
        .where(u.practice_id == practice_id)
        .order_by(u.display_name)
    )
    return [{"user_id": r.user_id, "display_name": r.display_name} for r in rows]
