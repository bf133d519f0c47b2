# ruff: noqa: S608  (SQL text holds only the generation schema, checked by GENERATION, and
# fixed fragments; every value is a bind parameter)
"""A view as it stood at a past time (X-ASOF-1): the membership and shared-inbox
subscription histories of the inbox read model."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.gateway.readmodel.inbox import generation


async def as_of(
    session: AsyncSession, practice_id: str, box: str, at: datetime, limit: int
) -> list[dict[str, Any]]:
    """The conversations in `box` at `at`, by the membership history (X-ASOF-1)."""
    s = await generation(session)
    rows = await session.execute(
        text(
            f"""
            SELECT h.conversation_id, h.valid_from, h.valid_to, c.channel, c.sender,
                   c.patient_id, c.reason, c.location_id, p.given_name, p.family_name
            FROM {s}.membership_history h
            JOIN {s}.conversations c ON c.conversation_id = h.conversation_id
            LEFT JOIN {s}.patients p
              ON p.practice_id = c.practice_id AND p.patient_id = c.patient_id
            WHERE h.practice_id = :p AND h.box = :box AND h.valid_from <= :at
              AND (h.valid_to IS NULL OR h.valid_to > :at)
            ORDER BY h.valid_from DESC, h.conversation_id LIMIT :n
            """
        ),
        {"p": practice_id, "box": box, "at": at, "n": limit},
    )
    return [dict(r) for r in rows.mappings()]


async def subscribers_at(
    session: AsyncSession, practice_id: str, inbox: str, at: datetime
) -> list[str]:
    s = await generation(session)
    rows = await session.execute(
        text(
            f"""SELECT DISTINCT staff_id FROM {s}.inbox_subscriptions
            WHERE practice_id = :p AND inbox = :i AND valid_from <= :at
              AND (valid_to IS NULL OR valid_to > :at)"""
        ),
        {"p": practice_id, "i": inbox, "at": at},
    )
    return sorted(rows.scalars())
