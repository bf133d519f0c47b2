"""Inbox read models. A projection of the log: can be dropped and rebuilt (X-REPLAY-1).

The read models live in a *generation*: a PostgreSQL schema holding every table below. The
first generation is the schema `inbox` itself; `switchboard-inbox-projection rebuild` fills a
new one (`inbox_r<n>`) from offset 0 and then switches `inbox.generations` to it. The live
consumer and the gateway read that pointer, so the switch is one committed row.

`inbox.processed_events` (the platform consumer's record) and `inbox.generations` stay in
`inbox` whatever the generation; each generation has its own `applied` record, so an event is
applied once per generation even when the live consumer and a rebuild both see it.

Its size: the table declarations of one generation; each table is short.
"""

from __future__ import annotations

import functools
import re

from sqlalchemy import (
    Boolean,
    Column,
    Computed,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateIndex
from sqlalchemy.sql.expression import Executable

from switchboard.platform.db import processed_events_table

SCHEMA = "inbox"
metadata = MetaData(schema=SCHEMA)

processed = processed_events_table(metadata)

# Which generation is live. One row has active = true.
generations = Table(
    "generations",
    metadata,
    Column("schema_name", Text, primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("activated_at", DateTime(timezone=True)),
    Column("events", Integer),
    Index("generations_one_active", "active", unique=True, postgresql_where=text("active")),
)

# Taken shared by every live batch, exclusively by the switch: after the switch commits, no
# live batch writes to the old generation.
SWITCH_LOCK = 0x5B1B0C  # pg_advisory_xact_lock key

GENERATION = re.compile(r"^inbox(_r[0-9]{1,6})?$")

# --- the tables of one generation -------------------------------------------------------
gen = MetaData(schema=SCHEMA)

conversations = Table(
    "conversations",
    gen,
    Column("conversation_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("line", Text, nullable=False),
    Column("sender", Text, nullable=False),
    # The patient: stated by the channel, resolved by the router, or linked by staff.
    Column("patient_id", Text),
    Column("linked_by", Text),
    # When the sender's contact belongs to several patients (unrecognized, I-UNREC-1).
    Column("matched_patient_ids", ARRAY(Text), nullable=False),
    Column("status", Text, nullable=False),
    Column("status_at", DateTime(timezone=True)),
    Column("assignee", Text),
    Column("assigned_at", DateTime(timezone=True)),
    Column("reason", Text),
    Column("reason_source", Text),  # R-REASON-4 (0005)
    Column("location_id", Text),
    Column("location_source", Text),  # R-LOC-4 (0005)
    Column("provider_id", Text),
    # Shared inboxes it is in: "unassigned" and custom "shared:<id>" (R-SUB-2, R-VOICEMAIL-1).
    Column("inboxes", ARRAY(Text), nullable=False),
    # Staff the routing decision delivered it to (R-SUB-1).
    Column("recipients", ARRAY(Text), nullable=False),
    Column("explanation", JSONB),
    Column("routed_at", DateTime(timezone=True)),
    Column("message_count", Integer, nullable=False),
    Column("last_message_at", DateTime(timezone=True)),
    Column("last_inbound_at", DateTime(timezone=True)),
    # Staff who replied in it (My Inbox / Sent, I-VIEW-1).
    Column("sent_by", ARRAY(Text), nullable=False),
    # Optimistic concurrency: bumped by every change staff would want to have seen.
    Column("version", Integer, nullable=False),
    Column("changed_at", DateTime(timezone=True)),
    # Team work (I-NOTE-1, I-SNOOZE-1): who was @mentioned; a snooze's end and its event.
    Column("mentioned", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("snoozed_until", DateTime(timezone=True)),
    Column("snooze_id", UUID(as_uuid=True)),
    Index("conversations_patient", "practice_id", "patient_id", info={"deferred": True}),
    # The wake-up timer's scan (snooze.py): only snoozed conversations with a time.
    Index(
        "conversations_snoozed",
        "snoozed_until",
        postgresql_where=text("status = 'snoozed' AND snoozed_until IS NOT NULL"),
    ),
    Index("conversations_patient_id", "patient_id", info={"deferred": True}),
    Index(
        "conversations_matched",
        "matched_patient_ids",
        postgresql_using="gin",
        info={"deferred": True},
    ),
    Index("conversations_sender", "practice_id", "sender", info={"deferred": True}),
    Index("conversations_line", "practice_id", "line", info={"deferred": True}),
)

messages = Table(
    "messages",
    gen,
    Column("message_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("direction", Text, nullable=False),  # inbound | outbound
    Column("channel", Text, nullable=False),
    Column("sender", Text, nullable=False),
    Column("recipient", Text, nullable=False),
    Column("subject", Text),
    Column("body", Text, nullable=False),
    Column("attachments", JSONB, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Column("actor", Text),  # the staff member who wrote an outbound message
    Column("details", JSONB),  # outbound: secure, template, keep_open
    Column(
        "search",
        TSVECTOR,
        Computed(
            persisted=True,
            sqltext="to_tsvector('simple'::regconfig, coalesce(subject, '') || ' ' || body)",
        ),
    ),
    Index("messages_conversation", "conversation_id", "sent_at", info={"deferred": True}),
    Index(
        "messages_body_trgm",
        "body",
        postgresql_using="gin",
        postgresql_ops={"body": "gin_trgm_ops"},
        info={"deferred": True},
    ),
    Index("messages_search", "search", postgresql_using="gin", info={"deferred": True}),
    Index("messages_sender", "practice_id", "sender", info={"deferred": True}),
    Index("messages_recipient", "practice_id", "recipient", info={"deferred": True}),
)

# Delivery results and patient read receipts of outbound messages, whatever order they come.
deliveries = Table(
    "deliveries",
    gen,
    Column("message_id", UUID(as_uuid=True), primary_key=True),
    Column("kind", Text, primary_key=True),  # sent | failed | read (by the patient)
    Column("practice_id", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("why", Text),
)

# Every routing decision of a conversation: the history shows the selected reason (R-LABEL-1).
decisions = Table(
    "decisions",
    gen,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("message_id", UUID(as_uuid=True)),
    Column("trigger", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("reason_source", Text),  # R-REASON-4 (0005)
    Column("location_id", Text),
    Column("location_source", Text),  # R-LOC-4 (0005)
    Column("provider_id", Text),
    Column("recipients", ARRAY(Text), nullable=False),
    Column("inboxes", ARRAY(Text), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Index("decisions_conversation", "conversation_id", "decided_at", info={"deferred": True}),
)

# Inbox membership: one row per (view box, conversation). Box names (access.py in the
# gateway maps them to views): assigned:<u>, routed:<u>, primary:<u>, unrec:<u>, sent:<u>,
# careteam:<u>, careteam_unrec:<u>, all, all_unrec, inbox:unassigned, inbox:shared:<id>.
membership = Table(
    "membership",
    gen,
    Column("practice_id", Text, primary_key=True),
    Column("box", Text, primary_key=True),
    Column("conversation_id", UUID(as_uuid=True), primary_key=True),
    Column("last_message_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("assigned", Boolean, nullable=False),
    Column("channel", Text, nullable=False),
    Column("reason", Text),
    Column("location_id", Text),
    Index(
        "membership_page",
        "practice_id",
        "box",
        text("last_message_at DESC"),
        text("conversation_id DESC"),
        info={"deferred": True},
    ),
    Index("membership_conversation", "conversation_id", info={"deferred": True}),
)

# Membership over time (X-ASOF-1): [valid_from, valid_to) in event time.
membership_history = Table(
    "membership_history",
    gen,
    Column("practice_id", Text, nullable=False),
    Column("box", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_to", DateTime(timezone=True)),
    Index("membership_history_box", "practice_id", "box", "valid_from", info={"deferred": True}),
    Index(
        "membership_history_open",
        "conversation_id",
        "box",
        postgresql_where=text("valid_to IS NULL"),
        info={"deferred": True},  # a rebuild keeps the intervals in memory until the end
    ),
)

patients = Table(
    "patients",
    gen,
    Column("practice_id", Text, primary_key=True),
    Column("patient_id", Text, primary_key=True),
    Column("given_name", Text, nullable=False),
    Column("family_name", Text, nullable=False),
    Column("birth_date", Date),
    Column("phones", ARRAY(Text), nullable=False),
    Column("emails", ARRAY(Text), nullable=False),
    Column("preferred_language", Text),
    Column("timezone", Text),
    # As the patient record states them, and the effective ones (with CareTeam resources).
    Column("own_care_team", ARRAY(Text), nullable=False),
    Column("own_primary_contact", Text),
    Column("care_team", ARRAY(Text), nullable=False),
    Column("primary_contact", Text),
    Column("source_updated_at", DateTime(timezone=True)),
    Column(
        "search_name",
        Text,
        Computed(persisted=True, sqltext="lower(given_name || ' ' || family_name)"),
    ),
    Index(
        "patients_name_trgm",
        "search_name",
        postgresql_using="gin",
        postgresql_ops={"search_name": "gin_trgm_ops"},
        info={"deferred": True},
    ),
    Index("patients_by_id", "patient_id", info={"deferred": True}),
    Index("patients_phones", "phones", postgresql_using="gin", info={"deferred": True}),
    Index("patients_emails", "emails", postgresql_using="gin", info={"deferred": True}),
)

care_teams = Table(
    "care_teams",
    gen,
    Column("practice_id", Text, primary_key=True),
    Column("care_team_id", Text, primary_key=True),
    Column("patient_id", Text, nullable=False),
    Column("members", ARRAY(Text), nullable=False),
    Column("primary_contact", Text),
    Column("active", Boolean, nullable=False),
    Column("source_updated_at", DateTime(timezone=True), nullable=False),
    Index("care_teams_patient", "practice_id", "patient_id", info={"deferred": True}),
)

locations = Table(
    "locations",
    gen,
    Column("practice_id", Text, primary_key=True),
    Column("location_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("active", Boolean, nullable=False),
)

# Who subscribed to which shared inbox, over time (R-SUB-2; X-ASOF-1 "who could see it").
inbox_subscriptions = Table(
    "inbox_subscriptions",
    gen,
    Column("practice_id", Text, nullable=False),
    Column("staff_id", Text, nullable=False),
    Column("inbox", Text, nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_to", DateTime(timezone=True)),
    Index(
        "inbox_subscriptions_current", "practice_id", "staff_id", "inbox", info={"deferred": True}
    ),
)

# Each staff member's role and policies over time (X-ASOF-1a: who could see it at T).
staff_access_history = Table(
    "staff_access_history",
    gen,
    Column("practice_id", Text, nullable=False),
    Column("staff_id", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("policies", ARRAY(Text), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_to", DateTime(timezone=True)),
    Index("staff_access_history_staff", "practice_id", "staff_id", "valid_from"),
)

# A staff member's own numbers and addresses (I-ASSIGN-1).
staff_addresses = Table(
    "staff_addresses",
    gen,
    Column("practice_id", Text, primary_key=True),
    Column("address", Text, primary_key=True),
    Column("staff_id", Text, nullable=False),
)

# Per user: when they last opened the conversation (unread = inbound after that).
reads = Table(
    "reads",
    gen,
    Column("conversation_id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", Text, primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("read_at", DateTime(timezone=True), nullable=False),
)

# Each event applied to this generation once, and what came of it: applied, or conflict
# (an action whose expected_version was stale: refused, nothing changed).
applied = Table(
    "applied",
    gen,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("outcome", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=True)),
)

# Tables whose rows the rebuild test compares (every row, every column but wall-clock ones).
CHECKSUMMED = (
    conversations,
    messages,
    deliveries,
    decisions,
    membership,
    membership_history,
    patients,
    care_teams,
    locations,
    inbox_subscriptions,
    staff_access_history,
    staff_addresses,
    reads,
    applied,
)


# The indexes a rebuild builds after its load (by name: Table.to_metadata, which binds the
# tables to a generation's schema, does not copy an index's `info`).
DEFERRED = frozenset(
    str(index.name)
    for t in gen.tables.values()
    for index in t.indexes
    if index.info.get("deferred")
)


# The tables a rebuild writes once its fold is done: their deferred indexes are built after.
# (The append-only ones are written batch by batch while the next is folded: the server keeps
# their indexes up meanwhile.)
LOADED_LAST = frozenset(
    {"conversations", "patients", "care_teams", "membership", "membership_history"}
)


def check_generation(schema: str) -> str:
    if not GENERATION.match(schema):
        raise ValueError(f"not an inbox generation schema: {schema!r}")
    return schema


@functools.cache
def tables(schema: str) -> dict[str, Table]:
    """The generation's tables, bound to `schema` (copies of the ones above)."""
    check_generation(schema)
    if schema == SCHEMA:
        return {t.name: t for t in gen.tables.values()}
    md = MetaData(schema=schema)
    return {t.name: t.to_metadata(md, schema=schema) for t in gen.tables.values()}


def create_generation(conn: Connection, schema: str, defer_indexes: bool = False) -> None:
    """Create every table of a generation in `schema` (sync connection). With
    `defer_indexes`, the indexes only reads need (search, paging) are left for
    `deferred_ddl`: a rebuild's bulk load reads nothing back (its state is in
    memory), so it writes faster without them."""
    check_generation(schema)
    conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    md = next(iter(tables(schema).values())).metadata
    md.create_all(conn)
    if defer_indexes:
        for table in md.sorted_tables:
            if table.name not in LOADED_LAST:
                continue  # its indexes are kept up during the load (the server has the time)
            for index in table.indexes:
                if index.name in DEFERRED:
                    index.drop(conn)
        # membership is written once at the end of a rebuild's load (bulk.py): its key is
        # built after, in one pass
        conn.execute(text(f'ALTER TABLE "{schema}".membership DROP CONSTRAINT membership_pkey'))


def deferred_ddl(schema: str, table: str) -> list[Executable]:
    """The statements building the indexes of `table` that `create_generation` deferred. Each
    takes only a SHARE lock, so they can run at once on several connections; then
    `finish_ddl`. membership's key is built as a unique index here, made the key there."""
    statements: list[Executable] = [
        CreateIndex(index)
        for index in tables(schema)[table].indexes
        if str(index.name) in DEFERRED and table in LOADED_LAST
    ]
    if table == "membership":
        statements.insert(
            0,
            text(
                f'CREATE UNIQUE INDEX membership_pkey ON "{schema}".membership '
                "(practice_id, box, conversation_id)"
            ),
        )
    return statements


def finish_ddl(schema: str, table: str) -> list[Executable]:
    """After `deferred_ddl`: membership's key, and ANALYZE of the tables the gateway plans
    its pages and searches with."""
    out: list[Executable] = []
    if table == "membership":
        out.append(
            text(
                f'ALTER TABLE "{schema}".membership ADD CONSTRAINT membership_pkey '
                "PRIMARY KEY USING INDEX membership_pkey"
            )
        )
    if table in ("conversations", "membership"):
        out.append(text(f'ANALYZE "{schema}".{table}'))
    return out
