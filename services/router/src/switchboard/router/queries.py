"""Reads of the router's state for its internal API. Every query is scoped to one practice."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import MessageRouted, decode
from switchboard.router import storage
from switchboard.router.model import ConversationState
from switchboard.router.practice_config import PracticeConfig
from switchboard.router.working_set import _conversation


async def current_config(session: AsyncSession, practice_id: str) -> PracticeConfig:
    row = await session.scalar(
        select(storage.practice_config.c.config).where(
            storage.practice_config.c.practice_id == practice_id
        )
    )
    return PracticeConfig.initial(practice_id) if row is None else PracticeConfig.from_json(row)


async def config_as_of(session: AsyncSession, practice_id: str, at: datetime) -> PracticeConfig:
    """The configuration in force at `at`: the fold after the last change made by then."""
    h = storage.config_history
    row = await session.scalar(
        select(h.c.config)
        .where(h.c.practice_id == practice_id, h.c.occurred_at <= at)
        .order_by(h.c.seq.desc())
        .limit(1)
    )
    return PracticeConfig.initial(practice_id) if row is None else PracticeConfig.from_json(row)


async def config_at_versions(
    session: AsyncSession, practice_id: str, settings_version: int, subscriptions_version: int
) -> PracticeConfig:
    """The configuration a decision used, found by the versions it recorded (R-EXPLAIN-1)."""
    if settings_version == 0 and subscriptions_version == 0:
        return PracticeConfig.initial(practice_id)
    h = storage.config_history
    row = await session.scalar(
        select(h.c.config)
        .where(
            h.c.practice_id == practice_id,
            h.c.settings_version == settings_version,
            h.c.subscriptions_version == subscriptions_version,
        )
        .order_by(h.c.seq.desc())
        .limit(1)
    )
    if row is None:
        raise LookupError("no configuration with those versions")
    return PracticeConfig.from_json(row)


async def history(
    session: AsyncSession, practice_id: str, until: datetime | None, staff_id: str | None
) -> list[dict[str, Any]]:
    h = storage.config_history
    query = select(
        h.c.event_id,
        h.c.seq,
        h.c.event_type,
        h.c.actor,
        h.c.occurred_at,
        h.c.change,
        h.c.settings_version,
        h.c.subscriptions_version,
    ).where(h.c.practice_id == practice_id)
    if until is not None:
        query = query.where(h.c.occurred_at <= until)
    if staff_id is not None:
        query = query.where(h.c.change["staff_id"].astext == staff_id)
    rows = await session.execute(query.order_by(h.c.seq))
    return [dict(r) for r in rows.mappings()]


async def applied(session: AsyncSession, practice_id: str, event_id: uuid.UUID) -> bool:
    h = storage.config_history
    found = await session.scalar(
        select(h.c.seq).where(h.c.practice_id == practice_id, h.c.event_id == event_id)
    )
    return found is not None


async def conversation(
    session: AsyncSession, practice_id: str, conversation_id: uuid.UUID
) -> ConversationState | None:
    c = storage.conversations
    row = (
        (
            await session.execute(
                select(c).where(
                    c.c.practice_id == practice_id, c.c.conversation_id == conversation_id
                )
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else _conversation(row)


async def directory(session: AsyncSession, practice_id: str) -> dict[str, list[dict[str, Any]]]:
    d = storage.directory
    rows = await session.execute(
        select(d.c.kind, d.c.item_id, d.c.name, d.c.active)
        .where(d.c.practice_id == practice_id)
        .order_by(d.c.kind, d.c.name)
    )
    out: dict[str, list[dict[str, Any]]] = {"location": [], "provider": []}
    for kind, item_id, name, active in rows.tuples():
        out.setdefault(kind, []).append({"id": item_id, "name": name, "active": active})
    return out


async def decisions(
    session: AsyncSession, practice_id: str, conversation_id: uuid.UUID
) -> list[MessageRouted]:
    d = storage.decisions
    rows = await session.scalars(
        select(d.c.decision)
        .where(and_(d.c.practice_id == practice_id, d.c.conversation_id == conversation_id))
        .order_by(d.c.decided_at, d.c.event_id)
    )
    return [_routed(r) for r in rows]


async def decision(
    session: AsyncSession, practice_id: str, event_id: uuid.UUID
) -> MessageRouted | None:
    d = storage.decisions
    row = await session.scalar(
        select(d.c.decision).where(d.c.practice_id == practice_id, d.c.event_id == event_id)
    )
    return None if row is None else _routed(row)


async def inputs_for_messages(
    session: AsyncSession, practice_id: str, message_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    d = storage.decisions
    out: dict[uuid.UUID, dict[str, Any]] = {}
    for start in range(0, len(message_ids), 1000):
        rows = await session.execute(
            select(d.c.message_id, d.c.inputs).where(
                d.c.practice_id == practice_id,
                d.c.message_id.in_(message_ids[start : start + 1000]),
                d.c.inputs.is_not(None),
            )
        )
        out.update({mid: inputs for mid, inputs in rows.tuples()})
    return out


def _routed(data: dict[str, Any]) -> MessageRouted:
    event = decode(data)
    assert isinstance(event, MessageRouted)
    return event
