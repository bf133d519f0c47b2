"""Text PostgreSQL cannot hold (NUL, lone surrogates), written through the platform's engine
into real PostgreSQL: statements, JSON, arrays, COPY and `write_rows` all store U+FFFD in
its place instead of failing."""

from __future__ import annotations

import pytest
from psycopg.types.json import Jsonb
from sqlalchemy import Column, MetaData, Table, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert

from switchboard.platform.db import RawJSON, make_engine, write_rows

pytestmark = pytest.mark.integration

BAD = "a\x00b\ud800c"
SAFE = "a\ufffdb\ufffdc"


async def test_every_write_path_stores_the_safe_form(test_db):
    engine = make_engine(test_db)
    md = MetaData(schema="pgtext_it")
    t = Table(
        "notes",
        md,
        Column("id", Text, primary_key=True),
        Column("body", Text),
        Column("tags", ARRAY(Text)),
        Column("doc", JSONB),
    )
    async with engine.begin() as conn:
        await conn.execute(text("CREATE SCHEMA IF NOT EXISTS pgtext_it"))
        await conn.run_sync(md.create_all)
        # an ORM-style insert: str, text[] and jsonb parameters
        await conn.execute(
            insert(t).values(id="orm", body=BAD, tags=[BAD], doc={"k": BAD, BAD: [BAD]})
        )
        # a text() statement with a plain parameter
        await conn.execute(
            text("INSERT INTO pgtext_it.notes (id, body) VALUES ('raw', :b)"), {"b": BAD}
        )
        # COPY with types (binary format), as the inbox projection's copy_rows does
        raw = (await conn.get_raw_connection()).driver_connection
        async with (
            raw.cursor() as cur,
            cur.copy(
                "COPY pgtext_it.notes (id, body, tags, doc) FROM STDIN (FORMAT BINARY)"
            ) as copy,
        ):
            copy.set_types(["text", "text", "text[]", "jsonb"])
            await copy.write_row(["copy", BAD, [BAD], Jsonb({"k": BAD})])
    async with make_engine(test_db).begin() as c2:
        from sqlalchemy.ext.asyncio import AsyncSession

        session = AsyncSession(bind=c2)
        await write_rows(
            session,
            t,
            [
                {
                    "id": "rows",
                    "body": BAD,
                    "tags": [BAD],
                    "doc": RawJSON('{"k": "a\\u0000b\\ud800c"}'),
                }
            ],
            conflict=["id"],
        )
    async with engine.connect() as conn:
        rows = {
            r.id: r
            for r in await conn.execute(text("SELECT id, body, tags, doc FROM pgtext_it.notes"))
        }
    await engine.dispose()
    assert rows["orm"].body == SAFE and rows["orm"].tags == [SAFE]
    assert rows["orm"].doc == {"k": SAFE, SAFE: [SAFE]}
    assert rows["raw"].body == SAFE
    assert rows["copy"].body == SAFE and rows["copy"].tags == [SAFE]
    assert rows["copy"].doc == {"k": SAFE}
    assert rows["rows"].body == SAFE and rows["rows"].doc == {"k": SAFE}
