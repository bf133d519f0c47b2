"""pm-sync's own state, in schema `pm_sync`: the read model of its own `switchboard.pm`
events (patients, appointments, care teams, locations, providers, a contact index) and the
FHIR poll cursors. Every table but `fhir_cursors` can be dropped and rebuilt from the log."""

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
