"""The reports read model's tables (X-REPORT-1), a second projection beside the inbox's
(ADR 0021). A projection of the log: can be dropped and rebuilt (X-REPLAY-1).

Like the inbox, its tables live in a *generation*: the first is the schema `inbox` itself (the
tables are named `report_*`), `switchboard-inbox-projection rebuild-reports` fills a new one
(`inbox_reports_r<n>`) and switches `inbox.report_generations` to it. The gateway reads that
pointer. The reports consumer records what it processed in `inbox.processed_events` under its
own consumer name.
"""

from __future__ import annotations

import functools
import re

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, MetaData, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.engine import Connection

SCHEMA = "inbox"
metadata = MetaData(schema=SCHEMA)

report_generations = Table(
    "report_generations",
    metadata,
    Column("schema_name", Text, primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("activated_at", DateTime(timezone=True)),
    Column("events", Integer),
    Index("report_generations_one_active", "active", unique=True, postgresql_where=text("active")),
)

# Taken shared by every live batch, exclusively by the switch (as the inbox's SWITCH_LOCK).
SWITCH_LOCK = 0x5B1B0D

GENERATION = re.compile(r"^inbox(_reports_r[0-9]{1,6})?$")

# --- the tables of one generation ---------------------------------------------------------
gen = MetaData(schema=SCHEMA)

report_conversations = Table(
    "report_conversations",
    gen,
    Column("conversation_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True)),
    Column("channel", Text),
    Column("routed_at", DateTime(timezone=True)),
    Column("reason", Text),
    Column("location_id", Text),
    Column("first_response_at", DateTime(timezone=True)),
    Column("responder", Text),
    Column("last_response_at", DateTime(timezone=True)),
    Column("last_inbound_at", DateTime(timezone=True)),
    Column("status", Text, nullable=False),
    Column("status_at", DateTime(timezone=True)),
    Column("status_actor", Text),
    Column("closed_at", DateTime(timezone=True)),
    Column("closed_by", Text),
    Column("escalation_started_at", DateTime(timezone=True)),
    Index("report_conversations_opened", "practice_id", "opened_at"),
    Index("report_conversations_status", "practice_id", "status"),
)

# Inbound messages (times only): volume by hour and weekday, and how long patients have waited.
report_messages = Table(
    "report_messages",
    gen,
    Column("message_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("channel", Text, nullable=False),
    Index("report_messages_received", "practice_id", "received_at"),
    Index("report_messages_conversation", "conversation_id", "received_at"),
)

report_practices = Table(
    "report_practices",
    gen,
    Column("practice_id", Text, primary_key=True),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("timezone", Text, nullable=False),
    Column("sla_minutes", Integer),
    Column("sla_by_reason", JSONB, nullable=False),
)

# Every row of these is compared by the rebuild test.
CHECKSUMMED = (report_conversations, report_messages, report_practices)


def check_generation(schema: str) -> str:
    if not GENERATION.match(schema):
        raise ValueError(f"not a reports generation schema: {schema!r}")
    return schema


@functools.cache
def tables(schema: str) -> dict[str, Table]:
    """The generation's tables, bound to `schema` (copies of the ones above)."""
    check_generation(schema)
    if schema == SCHEMA:
        return {t.name: t for t in gen.tables.values()}
    md = MetaData(schema=schema)
    return {t.name: t.to_metadata(md, schema=schema) for t in gen.tables.values()}


def create_generation(conn: Connection, schema: str) -> None:
    """Create the tables of a generation in `schema` (sync connection)."""
    check_generation(schema)
    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    next(iter(tables(schema).values())).metadata.create_all(conn)
