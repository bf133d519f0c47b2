# ruff: noqa: S608  (SQL text holds only the generation schema, checked by GENERATION, and
# fixed fragments; every value is a bind parameter)
"""What the access checks (conversation_access.py) decide with: the boxes a conversation or a
patient's conversations are filed under, and the shared inboxes staff are subscribed to."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.gateway.readmodel.inbox import generation


async def conversation_boxes(
    session: AsyncSession, practice_id: str, cid: uuid.UUID
) -> list[str] | None:
    """The boxes a conversation of this practice is filed under; None when there is no such
    conversation in the practice (another practice's is the same as a missing one, T-1)."""
    s = await generation(session)
    found = await session.execute(
        text(
            f"""SELECT m.box FROM {s}.conversations c
            LEFT JOIN {s}.membership m
                ON m.conversation_id = c.conversation_id AND m.practice_id = c.practice_id
            WHERE c.conversation_id = :c AND c.practice_id = :p"""
        ),
        {"c": cid, "p": practice_id},
    )
    rows = list(found.scalars())
    return None if not rows else [b for b in rows if b is not None]


async def subscriptions_of(
    session: AsyncSession, practice_id: str, staff_ids: list[str]
) -> dict[str, list[str]]:
    """The shared inboxes each of `staff_ids` is subscribed to now (one query for many)."""
    s = await generation(session)
    rows = await session.execute(
        text(
            f"SELECT staff_id, inbox FROM {s}.inbox_subscriptions "
            "WHERE practice_id = :p AND staff_id = ANY(:u) AND valid_to IS NULL"
        ),
        {"p": practice_id, "u": staff_ids},
    )
    out: dict[str, list[str]] = {u: [] for u in staff_ids}
    for r in rows:
        out[r.staff_id].append(r.inbox)
    return out


async def patient_conversation_boxes(
    session: AsyncSession, practice_id: str, patient_ids: list[str]
) -> dict[str, list[list[str]]]:
    """For each patient, the boxes of each of their (linked) conversations."""
    s = await generation(session)
    rows = await session.execute(
        text(
            f"""SELECT c.patient_id, c.conversation_id,
                   array_remove(array_agg(m.box), NULL) AS boxes
            FROM {s}.conversations c
            LEFT JOIN {s}.membership m
                ON m.conversation_id = c.conversation_id AND m.practice_id = c.practice_id
            WHERE c.practice_id = :p AND c.patient_id = ANY(:ids)
            GROUP BY c.patient_id, c.conversation_id"""
        ),
        {"p": practice_id, "ids": patient_ids},
    )
    out: dict[str, list[list[str]]] = {pid: [] for pid in patient_ids}
    for r in rows:
        out[r.patient_id].append(list(r.boxes or []))
    return out
