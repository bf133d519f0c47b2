# ruff: noqa: S608  (SQL text holds only the generation schema, checked by GENERATION; every
# value is a bind parameter)
"""Staff access over time (X-ASOF-1a), from the inbox read model's `staff_access_history`
(folded from `StaffAccessSet` events), and the subscriptions someone had at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.gateway.access_history import AccessRecord
from switchboard.gateway.readmodel.inbox import generation


def _record(r: Row[Any]) -> AccessRecord:
    return AccessRecord(
        staff_id=r.staff_id,
        role=r.role,
        policies=frozenset(r.policies),
        event_id=r.event_id,
        valid_from=r.valid_from,
        valid_to=r.valid_to,
    )


async def history(session: AsyncSession, practice_id: str) -> list[AccessRecord]:
    """Every recorded access interval of the practice's staff, oldest first."""
    s = await generation(session)
    rows = await session.execute(
        text(
            f"""SELECT staff_id, role, policies, event_id, valid_from, valid_to
            FROM {s}.staff_access_history WHERE practice_id = :p
            ORDER BY staff_id, valid_from"""
        ),
        {"p": practice_id},
    )
    return [_record(r) for r in rows]


async def published(session: AsyncSession) -> dict[tuple[str, str], AccessRecord]:
    """The current (open) access of every staff member of every practice, as published."""
    s = await generation(session)
    rows = await session.execute(
        text(
            f"""SELECT practice_id, staff_id, role, policies, event_id, valid_from, valid_to
            FROM {s}.staff_access_history WHERE valid_to IS NULL"""
        )
    )
    return {(r.practice_id, r.staff_id): _record(r) for r in rows}


async def subscribed_at(
    session: AsyncSession, practice_id: str, staff_id: str, at: datetime
) -> list[str]:
    """The shared inboxes `staff_id` was subscribed to at `at` (X-ASOF-1c)."""
    s = await generation(session)
    rows = await session.execute(
        text(
            f"""SELECT DISTINCT inbox FROM {s}.inbox_subscriptions
            WHERE practice_id = :p AND staff_id = :s AND valid_from <= :at
              AND (valid_to IS NULL OR valid_to > :at)"""
        ),
        {"p": practice_id, "s": staff_id, "at": at},
    )
    return sorted(rows.scalars())
