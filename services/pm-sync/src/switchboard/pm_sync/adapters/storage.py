"""pm-sync's own state, in schema `pm_sync`: the read model of its own `switchboard.pm`
events (patients, appointments, care teams, locations, providers, a contact index) and the
FHIR poll cursors, and what the FHIR Communication writer (X-FHIR-2) knows of conversations
and messages it publishes. Every table but `fhir_cursors` and the `fhir_out_*` ones (whose
`state` says what the EHR already holds) can be dropped and rebuilt from the log."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.sql import expression

from switchboard.platform.db import processed_events_table

SCHEMA = "pm_sync"
metadata = MetaData(schema=SCHEMA)

processed = processed_events_table(metadata)

patients = Table(
    "patients",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("patient_id", Text, primary_key=True),
    Column("given_name", Text, nullable=False),
    Column("family_name", Text, nullable=False),
    Column("birth_date", Date),
    Column("phones", ARRAY(Text), nullable=False),
    Column("emails", ARRAY(Text), nullable=False),
    Column("preferred_language", Text),
    Column("timezone", Text),
    Column("care_team", ARRAY(Text), nullable=False),
    Column("primary_contact", Text),
    Column("source_updated_at", DateTime(timezone=True), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
)

# phone (E.164) or email (lower case) -> the patients that use it (a family shares a phone).
contacts = Table(
    "contacts",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("contact", Text, primary_key=True),
    Column("patient_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),  # phone | email
    Index("contacts_patient", "practice_id", "patient_id"),
)

# One row per appointment id: the newest version wins, whatever the delivery order.
appointments = Table(
    "appointments",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("appointment_id", Text, primary_key=True),
    Column("patient_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("change", Text, nullable=False),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True)),
    Column("location_id", Text),
    Column("provider_id", Text),
    Column("source_version", Integer, nullable=False),
    Column("source_updated_at", DateTime(timezone=True), nullable=False),
    Column("status_rank", Integer, nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("event", JSONB, nullable=False),  # the winning AppointmentChanged, as JSON
    Index("appointments_patient", "practice_id", "patient_id", "start_at"),
)

care_teams = Table(
    "care_teams",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("care_team_id", Text, primary_key=True),
    Column("patient_id", Text, nullable=False),
    Column("members", ARRAY(Text), nullable=False),
    Column("primary_contact", Text),
    Column("active", Boolean, nullable=False),
    Column("source_updated_at", DateTime(timezone=True), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Index("care_teams_patient", "practice_id", "patient_id"),
)

locations = Table(
    "locations",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("location_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("timezone", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
)

providers = Table(
    "providers",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("provider_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
)

# Where each practice's FHIR poll of each resource type got to (newest meta.lastUpdated
# seen), so a restart resumes. Not a projection: it is the poller's own progress.
fhir_cursors = Table(
    "fhir_cursors",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("resource_type", Text, primary_key=True),
    Column("cursor", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


# --- FHIR Communication out (X-FHIR-2), written by entrypoints/fhir_out.py ----------------

# Per conversation: its patient (from the message, the routing or a link), its current
# reason, and its latest inbound / outbound message (what a reply / an answer responds to).
fhir_out_conversations = Table(
    "fhir_out_conversations",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("conversation_id", UUID(as_uuid=True), primary_key=True),
    Column("patient_id", Text),
    Column("reason", Text),
    Column("reason_at", DateTime(timezone=True)),
    Column("last_inbound_id", UUID(as_uuid=True)),
    Column("last_inbound_at", DateTime(timezone=True)),
    Column("last_outbound_id", UUID(as_uuid=True)),
    Column("last_outbound_at", DateTime(timezone=True)),
)

# One row per message to publish. Its facts arrive on several topics in any order; it is
# published once all are there and the conversation has a patient. `state`: waiting |
# published | rejected. The body is kept only when the practice shares content, and only
# until the Communication is published.
fhir_out_messages = Table(
    "fhir_out_messages",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("message_id", UUID(as_uuid=True), primary_key=True),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("direction", Text, nullable=False),  # inbound | outbound
    Column("channel", Text),
    Column("at", DateTime(timezone=True)),  # received / sent
    Column("body", Text),
    Column("subject", Text),
    Column("attachments", Integer, nullable=False, server_default=expression.text("0")),
    Column("reason", Text),  # inbound: its routing decision's
    Column("provider_id", Text),
    Column("staff_user", Text),
    Column("in_response_to", UUID(as_uuid=True)),
    Column("requested", Boolean, nullable=False, server_default=expression.false()),
    Column("sent", Boolean, nullable=False, server_default=expression.false()),
    Column("routed", Boolean, nullable=False, server_default=expression.false()),
    Column("state", Text, nullable=False, server_default=expression.text("'waiting'")),
    Column("server_id", Text),
    Column("published_at", DateTime(timezone=True)),
    Column("rejected_reason", Text),
    Index("fhir_out_messages_waiting", "practice_id", "conversation_id", "at"),
)

# Reason labels operators added (ReasonAdded); the defaults are in the mapping.
fhir_out_reasons = Table(
    "fhir_out_reasons",
    metadata,
    Column("practice_id", Text, primary_key=True),
    Column("code", Text, primary_key=True),
    Column("label", Text, nullable=False),
)
