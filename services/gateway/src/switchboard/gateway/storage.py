"""Gateway-owned tables (schema `gateway`) and its read-only view of the inbox read models."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

SCHEMA = "gateway"
metadata = MetaData(schema=SCHEMA)

users = Table(
    "users",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("username", Text, nullable=False, unique=True),
    Column("display_name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("policies", ARRAY(Text), nullable=False),
)

# T-3: every read of a conversation by a person or API client.
access_log = Table(
    "access_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("practice_id", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("action", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Read-only: owned and written by inbox-projection.
inbox = MetaData(schema="inbox")
conversations = Table(
    "conversations",
    inbox,
    Column("conversation_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text),
    Column("channel", Text),
    Column("line", Text),
    Column("sender", Text),
    Column("patient_id", Text),
    Column("status", Text),
    Column("assignee", Text),
    Column("reason", Text),
    Column("location_id", Text),
    Column("provider_id", Text),
    Column("inboxes", ARRAY(Text)),
    Column("recipients", ARRAY(Text)),
    Column("explanation", JSONB),
    Column("message_count", Integer),
    Column("last_message_at", DateTime(timezone=True)),
    Column("routed_at", DateTime(timezone=True)),
    Column("version", Integer),
)
messages = Table(
    "messages",
    inbox,
    Column("message_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text),
    Column("conversation_id", UUID(as_uuid=True)),
    Column("direction", Text),
    Column("channel", Text),
    Column("sender", Text),
    Column("recipient", Text),
    Column("subject", Text),
    Column("body", Text),
    Column("attachments", JSONB),
    Column("sent_at", DateTime(timezone=True)),
)
