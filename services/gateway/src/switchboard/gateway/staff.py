"""Queries on the gateway's own staff table (storage.users), scoped to one practice (T-1):
the staff as principals (who could see a view, X-ASOF-1), the staff directory by name, and
which ids are staff of a practice (a dependency, so tests can stand in for the table)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
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


# Accounts that are people working the inbox: who can be picked to assign or to explain
# routing for. Operators, API clients and accounts without an inbox are not (issue 18).
PEOPLE_ROLES = frozenset({"staff", "practice_admin"})


async def directory(session: AsyncSession, practice_id: str) -> list[dict[str, str]]:
    """The practice's accounts by id, name and role, ordered by name (every account, so an
    API client's reply is still named). No patient data."""
    u = storage.users.c
    rows = await session.execute(
        select(u.user_id, u.display_name, u.role)
        .where(u.practice_id == practice_id)
        .order_by(u.display_name)
    )
    people = [{"user_id": r.user_id, "display_name": r.display_name, "role": r.role} for r in rows]
    # API clients (ADR 0024) act too: their replies and assignments are named by the client.
    c = storage.api_clients.c
    programs = await session.execute(
        select(c.client_id, c.name).where(c.practice_id == practice_id).order_by(c.name)
    )
    return people + [
        {"user_id": r.client_id, "display_name": f"{r.name} (API)", "role": "api_client"}
        for r in programs
    ]


StaffLookup = Callable[[str, set[str]], Awaitable[set[str]]]


def staff_lookup(request: Request) -> StaffLookup:
    """Which of the given user ids are staff of the practice (gateway's own users table)."""

    async def lookup(practice_id: str, ids: set[str]) -> set[str]:
        if not ids:
            return set()
        u = storage.users.c
        async with request.app.state.runtime.sessionmaker() as session:
            rows = await session.execute(
                select(u.user_id).where(u.practice_id == practice_id, u.user_id.in_(sorted(ids)))
            )
        return set(rows.scalars())

    return lookup
