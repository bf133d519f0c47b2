"""The notifier's own state, in schema `notifier`: settings folded from the log, coalescing
state, durable response timers and the outbox of external alerts (the dedupe record).

Migrations are raw SQL (migrations/versions); these tables mirror them for queries."""

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

SCHEMA = "notifier"
metadata = MetaData(schema=SCHEMA)

processed = processed_events_table(metadata)

# Newest PracticeNotificationSettingsChanged of each practice (the whole event, as JSON).
practice_settings = Table(
    "practice_settings",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("doc", JSONB, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
)

# Newest StaffAvailabilityChanged / NotificationPreferencesChanged of each staff member.
staff_settings = Table(
    "staff_settings",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("staff_id", Text, primary_key=True),
    Column("kind", Text, primary_key=True),  # availability | preferences
    Column("doc", JSONB, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("subscription_id", Text, primary_key=True),
    Column("url", Text),  # NULL = removed
    Column("secret", Text),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
)

# When each staff member was last alerted about a conversation (burst coalescing).
coalesce = Table(
    "coalesce",
    metadata,
    Column("conversation_id", UUID(as_uuid=True), primary_key=True),
    Column("staff_id", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("last_alert_at", DateTime(timezone=True), nullable=False),
    Index("coalesce_age", "last_alert_at"),
)

timers = Table(
    "timers",
    metadata,
    Column("timer_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("status", Text, nullable=False),  # pending | paused | fired | cancelled
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("target_minutes", Integer, nullable=False),
    Column("routing_reason", Text),
    Column("recipients", JSONB, nullable=False),
    Column("assignee", Text),
    Column("message_id", UUID(as_uuid=True)),
    Column("patient_id", Text),
    Column("correlation_id", UUID(as_uuid=True), nullable=False),
    Column("cause_event_id", UUID(as_uuid=True), nullable=False),
    Column("fired_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("escalation_event_id", UUID(as_uuid=True)),
    # While the conversation is snoozed (I-SNOOZE-1): since when the timer is paused.
    Column("paused_at", DateTime(timezone=True)),
    # At most one running timer per conversation.
    Index(
        "timers_one_pending",
        "conversation_id",
        unique=True,
        postgresql_where=text("status = 'pending'"),
    ),
    Index("timers_due", "due_at", postgresql_where=text("status = 'pending'")),
)

# One row per external alert (email, SMS, webhook), keyed by its deterministic id: a
# redelivered routing event inserts nothing new, so nothing is sent twice.
outbox = Table(
    "outbox",
    metadata,
    Column("alert_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("endpoint_key", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("alert", JSONB, nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("done_at", DateTime(timezone=True)),
    Column("reported", Boolean, nullable=False, server_default="false"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(
        "outbox_due", "next_attempt_at", postgresql_where=text("status IN ('pending', 'sending')")
    ),
    Index(
        "outbox_unreported",
        "done_at",
        postgresql_where=text("NOT reported AND status IN ('sent', 'failed')"),
    ),
)

# --- the public stream and event webhooks (ADR 0022) ----------------------------------------

# Conversations the public stream has announced (`public.conversation.created`).
public_conversations = Table(
    "public_conversations",
    metadata,
    Column("conversation_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Every public event, as published (content events hold patient data): what webhook
# deliveries send, and what a redelivery from a point in time reads. `seq`: arrival order.
public_events = Table(
    "public_events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("practice_id", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("event_type", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("payload", JSONB, nullable=False),
    Index("public_events_id", "event_id", unique=True),
    Index("public_events_practice_time", "practice_id", "occurred_at"),
)

# A practice's event webhook endpoints (Standard Webhooks; `secret` is `whsec_<base64>`).
event_endpoints = Table(
    "event_webhook_endpoints",
    metadata,
    Column("endpoint_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("event_types", JSONB, nullable=False),
    Column("status", Text, nullable=False, server_default="active"),  # active | paused
    Column("paused_reason", Text),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("event_webhook_endpoints_practice", "practice_id"),
)

# One row per (endpoint, public event) to send, in `seq` order per (endpoint, conversation).
event_deliveries = Table(
    "event_webhook_deliveries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=True),
    Column("delivery_id", UUID(as_uuid=True), nullable=False),
    Column("endpoint_id", UUID(as_uuid=True), nullable=False),
    Column("practice_id", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("event_type", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),  # pending|sending|delivered
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("lease_until", DateTime(timezone=True)),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("delivered_at", DateTime(timezone=True)),
    Column("redelivery", Boolean, nullable=False, server_default="false"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("event_webhook_deliveries_id", "delivery_id", unique=True),
    Index(
        "event_webhook_deliveries_queue",
        "endpoint_id",
        "conversation_id",
        "seq",
        postgresql_where=text("status <> 'delivered'"),
    ),
    Index("event_webhook_deliveries_log", "endpoint_id", "seq"),
)

# Every attempt of a delivery: the delivery log practice admins see (no payloads).
event_attempts = Table(
    "event_webhook_attempts",
    metadata,
    Column("delivery_id", UUID(as_uuid=True), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("endpoint_id", UUID(as_uuid=True), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
    Index("event_webhook_attempts_endpoint", "endpoint_id", "at"),
)
