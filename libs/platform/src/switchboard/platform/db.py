"""Async SQLAlchemy 2 on psycopg 3, and the processed-event record of idempotent consumers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import Column, DateTime, MetaData, Table, Text, func, select
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def make_engine(url: str, pool_size: int = 5) -> AsyncEngine:
    return create_async_engine(url, pool_size=pool_size, max_overflow=5, pool_pre_ping=True)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def processed_events_table(metadata: MetaData) -> Table:
    """Each service keeps its own, in its own schema (metadata.schema)."""
    return Table(
        "processed_events",
        metadata,
        Column("consumer", Text, primary_key=True),
        Column("event_id", UUID(as_uuid=True), primary_key=True),
        Column("outcome", Text, nullable=False, server_default="applied"),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


async def already_processed(
    session: AsyncSession, table: Table, consumer: str, event_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    ids = list(event_ids)
    if not ids:
        return set()
    rows = await session.execute(
        select(table.c.event_id).where(table.c.consumer == consumer, table.c.event_id.in_(ids))
    )
    return set(rows.scalars())


async def mark_processed(
    session: AsyncSession,
    table: Table,
    consumer: str,
    event_ids: Iterable[uuid.UUID],
    outcome: str = "applied",
) -> None:
    rows = [{"consumer": consumer, "event_id": i, "outcome": outcome} for i in event_ids]
    if rows:
        # executemany of one statement: compiled once, not once per batch size
        await session.execute(insert(table).on_conflict_do_nothing(), rows)
