"""Async SQLAlchemy 2 on psycopg 3, and the processed-event record of idempotent consumers."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    MetaData,
    Table,
    Text,
    any_,
    bindparam,
    create_engine,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, UUID, insert
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.elements import TextClause

from switchboard.platform.pgtext import install, pg_safe_json_text, safe_json_dumps


def make_engine(url: str, pool_size: int = 5) -> AsyncEngine:
    # hide_parameters: a failed statement's message (logged, dead-lettered) never carries its
    # parameters, which are patient names, message texts, phones.
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=5,
        pool_pre_ping=True,
        hide_parameters=True,
        json_serializer=safe_json_dumps,
    )
    # Text PostgreSQL cannot hold (NUL, lone surrogates) is stored in its safe form.
    install(engine)
    return engine


def make_sync_engine(url: str, **kwargs: Any) -> Engine:
    """The blocking engine of commands and migrations, with parameters hidden the same way."""
    engine = create_engine(url, hide_parameters=True, **kwargs)
    install(engine)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


DEAD_LETTERED = "dead-lettered"  # the outcome a consumer records for a dead letter


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
    # `= ANY(array)`: one parameter whatever the batch size, so the query text stays the
    # same and the driver's parsed-query cache keeps it (an IN list is new text each size).
    rows = await session.execute(
        select(table.c.event_id).where(
            table.c.consumer == consumer,
            table.c.event_id == any_(bindparam("ids", ids, type_=ARRAY(UUID(as_uuid=True)))),
        )
    )
    return set(rows.scalars())


async def processed_outcomes(
    session: AsyncSession, table: Table, consumer: str, event_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Each already recorded id's outcome ("applied", "dead-lettered", "replayed")."""
    ids = list(event_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(table.c.event_id, table.c.outcome).where(
            table.c.consumer == consumer,
            table.c.event_id == any_(bindparam("ids", ids, type_=ARRAY(UUID(as_uuid=True)))),
        )
    )
    return {r.event_id: r.outcome for r in rows}


async def mark_processed(
    session: AsyncSession,
    table: Table,
    consumer: str,
    event_ids: Iterable[uuid.UUID],
    outcome: str = "applied",
) -> None:
    ids = list(event_ids)
    if ids:
        # One statement whatever the batch size: INSERT ... SELECT unnest(array). An
        # executemany runs one statement per id (pipelined), which showed at 2,000 a batch.
        rows = select(
            literal(consumer, Text),
            func.unnest(bindparam("ids", ids, type_=ARRAY(UUID(as_uuid=True)))),
            literal(outcome, Text),
        )
        stmt = insert(table).from_select(["consumer", "event_id", "outcome"], rows)
        # A dead letter applied on replay becomes "replayed": a second replay is then a
        # duplicate like any other. Every other outcome stands once recorded.
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[table.c.consumer, table.c.event_id],
                set_={"outcome": stmt.excluded.outcome, "processed_at": func.now()},
                where=table.c.outcome == DEAD_LETTERED,
            )
        )


class RawJSON(str):
    """A value for `write_rows` that is already JSON text (e.g. a pydantic model's
    `model_dump_json()`): spliced in as it is, never encoded a second time."""


def _json_rows(rows: Sequence[Mapping[str, Any]]) -> str:
    if not any(isinstance(v, RawJSON) for v in rows[0].values()):
        return safe_json_dumps(list(rows), default=_json_default)

    def value(v: Any) -> str:
        if isinstance(v, RawJSON):
            return pg_safe_json_text(v)
        return safe_json_dumps(v, default=_json_default)

    out = []
    for row in rows:
        out.append("{" + ",".join(f"{json.dumps(k)}:{value(v)}" for k, v in row.items()) + "}")
    return "[" + ",".join(out) + "]"


def _json_default(value: object) -> str:
    # datetimes as ISO text with offset, UUIDs as text: PostgreSQL casts both back.
    return value.isoformat() if isinstance(value, datetime) else str(value)


async def write_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    conflict: Sequence[str],
    update: Sequence[str] = (),
) -> None:
    """Insert many rows in ONE statement with ONE parameter: the rows as a JSON array,
    unpacked by `jsonb_to_recordset`. On a key conflict the `update` columns are set from the
    new row (none: the existing row is kept).

    Why: executemany sends a statement per row, and a multi-row VALUES is compiled per batch
    size; this is compiled once and costs one round trip, whatever the batch.
    """
    if not rows:
        return
    statement = _upsert(table, tuple(rows[0]), tuple(conflict), tuple(update))
    await session.execute(statement, {"rows": _json_rows(rows)})


@functools.lru_cache(maxsize=512)
def _upsert(
    table: Table, columns: tuple[str, ...], conflict: tuple[str, ...], update: tuple[str, ...]
) -> TextClause:
    """write_rows' statement, made once per table and column set: building it (a dialect,
    each column's type compiled) cost more than the write's own Python work."""
    dialect = postgresql.dialect()
    types = ", ".join(f'"{c}" {table.c[c].type.compile(dialect)}' for c in columns)
    names = ", ".join(f'"{c}"' for c in columns)
    target = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
    if update:
        sets = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in update)
        action = f"DO UPDATE SET {sets}"
    else:
        action = "DO NOTHING"
    keys = ", ".join(f'"{c}"' for c in conflict)
    # Names and types come from the Table definition, never from input.
    return text(
        f"INSERT INTO {target} ({names}) SELECT {names} "  # noqa: S608
        f"FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({types}) "
        f"ON CONFLICT ({keys}) {action}"
    )
