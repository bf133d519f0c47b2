# ruff: noqa: S608  (SQL text holds only the generation schema, checked by GENERATION, and
# fixed fragments; every value is a bind parameter)
"""Conversation search on the inbox read model (I-SEARCH-1): by phone, email, patient or
contact name and message text, within the boxes the caller may read."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.gateway.readmodel.inbox import (
    SUMMARY,
    Filters,
    Search,
    escape_like,
    generation,
    joins,
)


async def search(
    session: AsyncSession,
    practice_id: str,
    me: str,
    criteria: Search,
    filters: Filters,
    scope: list[str] | None,
    all_shared: bool,
    limit: int,
    cursor: tuple[datetime, uuid.UUID] | None,
) -> list[dict[str, Any]]:
    """Conversations matching every given criterion (I-SEARCH-1), newest first, among those
    in the boxes `scope` (None: every conversation of the practice)."""
    s = await generation(session)
    params: dict[str, Any] = {"p": practice_id, "me": me, "n": limit + 1}
    where = ["c.practice_id = :p"]
    if scope is not None:
        params["scope"] = scope
        shared = " OR m.box LIKE 'inbox:%'" if all_shared else ""
        where.append(
            f"EXISTS (SELECT 1 FROM {s}.membership m WHERE m.conversation_id = c.conversation_id"
            f" AND m.practice_id = :p AND (m.box = ANY(:scope){shared}))"
        )
    for key, value in (("phone", criteria.phone), ("email", criteria.email)):
        if value is None:
            continue
        params[key] = value
        where.append(
            f"(c.sender = :{key} OR c.line = :{key} OR c.conversation_id IN ("
            f"SELECT conversation_id FROM {s}.messages WHERE practice_id = :p"
            f" AND (sender = :{key} OR recipient = :{key})))"
        )
    if criteria.name is not None:
        params["name"] = f"%{escape_like(criteria.name.lower())}%"
        where.append(
            f"""EXISTS (SELECT 1 FROM {s}.patients pn WHERE pn.practice_id = :p
                AND pn.search_name LIKE :name
                AND (pn.patient_id = c.patient_id OR pn.patient_id = ANY(c.matched_patient_ids)))"""
        )
    if criteria.text is not None:
        params["q"] = criteria.text
        params["qlike"] = f"%{escape_like(criteria.text)}%"
        where.append(
            f"""c.conversation_id IN (SELECT conversation_id FROM {s}.messages
                WHERE practice_id = :p AND (search @@ plainto_tsquery('simple', :q)
                OR body ILIKE :qlike))"""
        )
    extra = filters.sql("c", params)
    if cursor:
        params["ca"], params["cc"] = cursor
        extra += " AND (coalesce(c.last_message_at, c.routed_at), c.conversation_id) < (:ca, :cc)"
    sql = f"""
    SELECT coalesce(c.last_message_at, c.routed_at) AS sort_at, {SUMMARY}
    FROM {s}.conversations c {joins(s)}
    WHERE {" AND ".join(where)} {extra}
    ORDER BY sort_at DESC NULLS LAST, c.conversation_id DESC LIMIT :n
    """
    return [dict(r) for r in (await session.execute(text(sql), params)).mappings()]
