"""Inbox read models, schema `inbox`. A projection of the log: can be dropped and rebuilt."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from switchboard.platform.db import processed_events_table

SCHEMA = "inbox"
metadata = MetaData(schema=SCHEMA)

processed = processed_events_table(metadata)

conversations = Table(
    "conversations",
    metadata,
    Column("conversation_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("line", Text, nullable=False),
    Column("sender", Text, nullable=False),
    Column("patient_id", Text),
    Column("status", Text, nullable=False),
    Column("assignee", Text),
    Column("reason", Text),
    Column("location_id", Text),
    Column("provider_id", Text),
    Column("inboxes", ARRAY(Text), nullable=False),
    Column("recipients", ARRAY(Text), nullable=False),
    Column("explanation", JSONB),
    Column("message_count", Integer, nullable=False),
    Column("last_message_at", DateTime(timezone=True)),
    Column("routed_at", DateTime(timezone=True)),
    Column("version", Integer, nullable=False),
)

messages = Table(
    "messages",
    metadata,
    Column("message_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("direction", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("sender", Text, nullable=False),
    Column("recipient", Text, nullable=False),
    Column("subject", Text),
    Column("body", Text, nullable=False),
    Column("attachments", JSONB, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
)
