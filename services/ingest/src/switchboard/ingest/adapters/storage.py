"""ingest's own state, in schema `ingest`: who a number belongs to, email threads, replies to
send, and the patient page (messenger and secure email). Migrations are raw SQL
(migrations/versions); these tables mirror them for queries."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from switchboard.platform.db import processed_events_table

SCHEMA = "ingest"
metadata = MetaData(schema=SCHEMA)

processed = processed_events_table(metadata)

patients = Table(
    "patients",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("patient_id", Text, primary_key=True),
    Column("source_updated_at", DateTime(timezone=True), nullable=False),
)

contacts = Table(
    "contacts",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("contact", Text, primary_key=True),
    Column("patient_id", Text, primary_key=True),
    Index("contacts_patient", "practice_id", "patient_id"),
)

conversation_patients = Table(
    "conversation_patients",
    metadata,
    Column("conversation_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("patient_id", Text, nullable=False),
)

email_messages = Table(
    "email_messages",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("message_id", Text, primary_key=True),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("direction", Text, nullable=False),
    Column("party", Text, nullable=False),
    Column("subject", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("email_messages_conversation", "conversation_id", "at"),
)

outbound = Table(
    "outbound",
    metadata,
    Column("message_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("channel", Text, nullable=False),
    Column("kind", Text, nullable=False),  # sms | email | secure_notice
    Column("line", Text, nullable=False),
    Column("to_addr", Text, nullable=False),
    Column("request", JSONB, nullable=False),  # the ReplyRequested event
    Column("status", Text, nullable=False, server_default="pending"),  # or sending, sent, failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True)),
    Column("provider_message_id", Text),
    Column("last_error", Text),
    Column("done_at", DateTime(timezone=True)),
    Column("reported", Boolean, nullable=False, server_default="false"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(
        "outbound_due", "next_attempt_at", postgresql_where=text("status IN ('pending', 'sending')")
    ),
    Index(
        "outbound_unreported",
        "done_at",
        postgresql_where=text("NOT reported AND status IN ('sent', 'failed')"),
    ),
    Index("outbound_provider", "practice_id", "provider_message_id"),
)

portal_messages = Table(
    "portal_messages",
    metadata,
    Column("message_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("channel", Text, nullable=False),
    Column("direction", Text, nullable=False),  # in (patient) | out (practice)
    Column("body", Text, nullable=False),
    Column("subject", Text),
    Column("attachments", JSONB, nullable=False, server_default=text("'[]'")),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True)),
    Index("portal_messages_conversation", "practice_id", "conversation_id", "at"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", Text, primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("patient_id", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("kind", Text, nullable=False),  # messenger | secure
    Column("address", Text, nullable=False),
    Column("line", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

uploads = Table(
    "uploads",
    metadata,
    Column("attachment_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("patient_id", Text, nullable=False),
    Column("ref", Text, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("filename", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Failed identity checks on the patient page (sign_in_limit.py): the key as an HMAC only.
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("key_hash", Text, nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("sign_in_failures_key", "key_hash", "failed_at"),
    Index("sign_in_failures_at", "failed_at"),
)
