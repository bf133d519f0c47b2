"""The router's own state, in schema `router`: what `decide` needs, kept from the log."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

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
    Column("assignee", Text),
    Column("location_id", Text),
    Column("provider_id", Text),
    Column("shared_inboxes", ARRAY(Text), nullable=False, server_default="{}"),
    Index(
        "conversations_patient_open",
        "practice_id",
        "patient_id",
        postgresql_where=text("status = 'open'"),
    ),
    Index(
        "conversations_assignee_open",
        "practice_id",
        "assignee",
        postgresql_where=text("status = 'open'"),
    ),
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
    # The conversation and patient state the message met, so a what-if can replay it.
    Column("inputs", JSONB),
    Index("decisions_conversation", "practice_id", "conversation_id"),
    Index("decisions_message", "message_id"),
    Index("decisions_practice_time", "practice_id", "decided_at"),
)

# The latest configuration per practice, and every change with the fold right after it.
practice_config = Table(
    "practice_config",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("config", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
config_history = Table(
    "config_history",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("change", JSONB, nullable=False),
    Column("settings_version", Integer, nullable=False),
    Column("subscriptions_version", Integer, nullable=False),
    Column("config", JSONB, nullable=False),
    UniqueConstraint("practice_id", "seq"),
    Index("config_history_time", "practice_id", "occurred_at"),
)

patients = Table(
    "patients",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("patient_id", Text, primary_key=True),
    Column("profile_location_id", Text),
    Column("profile_provider_id", Text),
    Column("contacts", ARRAY(Text), nullable=False, server_default="{}"),
    Column("source_updated_at", DateTime(timezone=True)),
)
patient_contacts = Table(
    "patient_contacts",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("contact", Text, primary_key=True),
    Column("patient_id", Text, primary_key=True),
)
appointments = Table(
    "appointments",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("appointment_id", Text, primary_key=True),
    Column("patient_id", Text, nullable=False),
    Column("start", DateTime(timezone=True), nullable=False),
    Column("location_id", Text),
    Column("provider_id", Text),
    Column("active", Boolean, nullable=False),
    Column("source_version", Integer, nullable=False),
    Column("source_updated_at", DateTime(timezone=True), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Index("appointments_patient", "practice_id", "patient_id", postgresql_where=text("active")),
)
directory = Table(
    "directory",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("kind", Text, primary_key=True),  # location | provider
    Column("item_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("active", Boolean, nullable=False),
)
rr_cursor = Table(
    "rr_cursor",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("inbox", Text, primary_key=True),
    Column("last_staff_id", Text, nullable=False),
)

# Messages waiting for the patient's answer to the reason menu (X-MENU-1). A pending row is
# also the menu's timer: the menu timer (menu_timer.py) scans `deadline`.
reason_menus = Table(
    "reason_menus",
    metadata,
    Column("menu_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("channel", Text, nullable=False),
    Column("options", JSONB, nullable=False),
    Column("language", Text, nullable=False),
    Column("window_minutes", Integer, nullable=False),
    Column("sent", Integer, nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=False),
    Column("opening", JSONB, nullable=False),  # the waiting MessageReceived
    Column("status", Text, nullable=False),  # pending | answered | expired | gave_up | late
    Column("outcome_reason", Text),
    Index(
        "reason_menus_pending",
        "conversation_id",
        unique=True,
        postgresql_where=text("status = 'pending'"),
    ),
    Index("reason_menus_due", "deadline", postgresql_where=text("status = 'pending'")),
)
# The patient's preferred language (PatientUpserted), for the menu's words (X-LANG-1).
patient_languages = Table(
    "patient_languages",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("patient_id", Text, primary_key=True),
    Column("language", Text),
    Column("source_updated_at", DateTime(timezone=True)),
)
