"""Practice settings the gateway itself enforces, each change kept (who, when, what): the
newest row is the setting in force, the rows before it its history. Today one setting:
`reply_unrecognized` (X-UNREPLY-1), off until a practice admin turns it on. Stored in the
gateway's own schema like templates and users (ADR 0005, ADR 0026): the gateway is the only
service that reads it, when a reply is asked for."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Table,
    Text,
    func,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.gateway import storage

# Off by default: a practice that never chose keeps the seed's rule (link first, I-UNREC-1).
DEFAULTS = {"reply_unrecognized": False}

setting_changes = Table(
    "practice_setting_changes",
    storage.metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("practice_id", Text, nullable=False),
    Column("setting", Text, nullable=False),
    Column("value", Boolean, nullable=False),
    Column("changed_by", Text, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("practice_setting_changes_newest", "practice_id", "setting", "id"),
)


async def current(session: AsyncSession, practice_id: str, setting: str) -> bool:
    """The setting in force for the practice: its newest change, else the default."""
    c = setting_changes.c
    value = await session.scalar(
        select(c.value)
        .where(c.practice_id == practice_id, c.setting == setting)
        .order_by(c.id.desc())
        .limit(1)
    )
    return DEFAULTS[setting] if value is None else bool(value)


async def history(session: AsyncSession, practice_id: str, setting: str) -> list[dict[str, Any]]:
    """Every change of the setting, oldest first."""
    c = setting_changes.c
    rows = await session.execute(
        select(c.value, c.changed_by, c.changed_at)
        .where(c.practice_id == practice_id, c.setting == setting)
        .order_by(c.id)
    )
    return [dict(r) for r in rows.mappings()]


async def change(
    session: AsyncSession, practice_id: str, setting: str, value: bool, actor: str
) -> datetime:
    """Record a change (even to the same value: the history says who confirmed it when)."""
    at: datetime = (
        await session.execute(
            insert(setting_changes)
            .values(practice_id=practice_id, setting=setting, value=value, changed_by=actor)
            .returning(setting_changes.c.changed_at)
        )
    ).scalar_one()
    return at
