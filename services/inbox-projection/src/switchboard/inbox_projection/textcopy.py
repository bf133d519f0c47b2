"""COPY in PostgreSQL's text format, encoded here (a rebuild's bulk load).

psycopg's `write_row` dumps every value through its adapters (a few microseconds a row); a
rebuild writes hundreds of thousands of rows, so it builds the text lines itself: one
converter per column, from the column's type, and memos for the values that repeat (a
conversation's id and an event's time stamp its several membership-history rows). The
server parses the same values the binary COPY would have given (the rebuild's checksum
against the live tables compares every column).
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.inbox_projection.handlers import _copy_plan
from switchboard.platform.pgtext import pg_safe, safe_json_dumps

NULL = "\\N"
CHUNK = 20_000  # lines a COPY write carries

Convert = Callable[[Any], str]


def esc(s: str) -> str:
    """A text value as COPY text reads it: backslash, tab, newline and CR escaped; text
    PostgreSQL cannot hold (NUL, lone surrogates) in its safe form (pg_safe)."""
    s = pg_safe(s)
    if "\\" in s or "\t" in s or "\n" in s or "\r" in s:
        return (
            s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        )
    return s


def text_array(values: Sequence[str]) -> str:
    """A text[] literal, every element quoted (so any string is itself), then COPY-escaped."""
    if not values:
        return "{}"
    joined = pg_safe('","'.join(values))
    if "\\" not in joined and joined.count('"') == 2 * (len(values) - 1):
        return esc('{"' + joined + '"}')  # no element holds a quote or a backslash
    parts = ['"' + pg_safe(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values]
    return esc("{" + ",".join(parts) + "}")


def _row_function(convert: Sequence[Convert]) -> Callable[[Sequence[Any]], str]:
    """`values -> line`, unrolled over the columns (one call a row, not one a value)."""
    n = len(convert)
    names = ", ".join(f"v{i}" for i in range(n))
    parts = " + '\\t' + ".join(f"(NULL if v{i} is None else c{i}(v{i}))" for i in range(n))
    src = f"def line(values):\n    {names}{',' if n == 1 else ''} = values\n"
    src += f"    return {parts} + '\\n'\n"
    scope: dict[str, Any] = {"NULL": NULL, **{f"c{i}": f for i, f in enumerate(convert)}}
    exec(src, scope)  # noqa: S102  (source built above from column positions only)
    fn: Callable[[Sequence[Any]], str] = scope["line"]
    return fn


class Encoder:
    """Rows of one table (dicts by column name, or tuples in column order) as COPY text."""

    def __init__(self, table: Table, memo: Memo) -> None:
        names, types, _ = _copy_plan(table)
        assert len(names) > 1  # `pick` gives a tuple
        self.table = table
        self.columns = names
        # conversation ids repeat (a conversation's rows); other ids are mostly unique
        self.convert: list[Convert] = [
            memo.uuid if n == "conversation_id" else memo.converter(t)
            for n, t in zip(names, types, strict=True)
        ]
        self.line = _row_function(self.convert)
        self.pick = operator.itemgetter(*names)

    def lines(self, rows: Iterable[Any], *, tuples: bool = False) -> list[str]:
        line = self.line
        if tuples:
            return [line(row) for row in rows]
        pick = self.pick
        return [line(pick(row)) for row in rows]

    async def copy(self, session: AsyncSession, lines: Sequence[str]) -> None:
        if lines:
            await copy_lines(session, self.table, self.columns, lines)


class Memo:
    """Converters by PostgreSQL type, with memos for uuid and timestamptz values (both
    repeat across rows, and both cost more to format than to look up)."""

    def __init__(self) -> None:
        self.uuids: dict[uuid.UUID, str] = {}
        self.stamps: dict[datetime, str] = {}

    def uuid(self, v: uuid.UUID) -> str:
        s = self.uuids.get(v)
        if s is None:
            s = self.uuids[v] = str(v)
        return s

    def stamp(self, v: datetime) -> str:
        # Equal aware datetimes are the same instant (whatever their zones), and an instant
        # is all a timestamptz keeps: one text per instant is enough.
        s = self.stamps.get(v)
        if s is None:
            if v.utcoffset() is None:
                raise ValueError("a naive datetime in a timestamptz column")
            s = self.stamps[v] = v.isoformat()
        return s

    def converter(self, pgtype: str) -> Convert:
        if pgtype == "text":
            return esc
        if pgtype == "uuid":
            return str
        if pgtype == "timestamptz":
            return self.stamp
        if pgtype == "date":
            return _date
        if pgtype == "bool":
            return _bool
        if pgtype == "int4":
            return str
        if pgtype == "text[]":
            return text_array
        if pgtype == "jsonb":
            return _json
        raise TypeError(f"no COPY text converter for {pgtype}")


def _date(v: date) -> str:
    return v.isoformat()


def _bool(v: bool) -> str:
    return "t" if v else "f"


def _json(v: Any) -> str:
    return esc(safe_json_dumps(v))


async def copy_lines(
    session: AsyncSession, table: Table, columns: Sequence[str], lines: Sequence[str]
) -> None:
    """COPY `lines` (text format, one row each, newline-terminated) into `table`."""
    conn = await session.connection()
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    sql = f'COPY "{table.schema}".{table.name} ({", ".join(columns)}) FROM STDIN'
    async with raw.cursor() as cur, cur.copy(sql) as copy:
        for i in range(0, len(lines), CHUNK):
            await copy.write("".join(lines[i : i + CHUNK]))
