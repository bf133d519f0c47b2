"""The router's own state, in schema `router`: what `decide` needs, kept from the log."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from switchboard.platform.db import processed_events_table

SCHEMA = "router"
metadata = MetaData(schema=SCHEMA)

processed = processed_events_table(metadata)

conversations = Table(
    "conversations",
    metadata,
    Column("conversation_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("patient_id", Text),
    Column("reason", Text),
    Column("reason_set_at", DateTime(timezone=True)),
    Column("last_patient_message_at", DateTime(timezone=True)),
    Column("status", Text, nullable=False, server_default="open"),
    Column("assigned", Boolean, nullable=False, server_default="false"),
    Column("patient_read_last", Boolean, nullable=False, server_default="true"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("message_id", UUID(as_uuid=True)),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("decision", JSONB, nullable=False),
)
