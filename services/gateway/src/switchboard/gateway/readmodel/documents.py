# ruff: noqa: S608  (SQL text holds only the generation schema, checked by GENERATION, and
# fixed fragments; every value is a bind parameter)
"""The files of a conversation and of its patient's other conversations (I-REPLY-1), from the
messages of the inbox read model."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.gateway.readmodel.inbox import generation


async def documents(
    session: AsyncSession, practice_id: str, cid: uuid.UUID, patient_id: str | None
) -> list[dict[str, Any]]:
    """The files of a conversation and, with `patient_id`, of every conversation of that
    patient (the patient's documents a reply may attach, I-REPLY-1), newest first."""
    s = await generation(session)
    rows = await session.execute(
        text(
            f"""
            SELECT a.value AS attachment, m.sent_at, m.conversation_id
            FROM {s}.messages m
            JOIN {s}.conversations c ON c.conversation_id = m.conversation_id
            CROSS JOIN LATERAL jsonb_array_elements(m.attachments) a
            WHERE m.practice_id = :p AND c.practice_id = :p
              AND (m.conversation_id = :c
                   OR (CAST(:pid AS text) IS NOT NULL AND c.patient_id = :pid))
              AND jsonb_array_length(m.attachments) > 0
            ORDER BY m.sent_at DESC
            LIMIT 200
            """
        ),
        {"p": practice_id, "c": cid, "pid": patient_id},
    )
    return [dict(r) for r in rows.mappings()]
