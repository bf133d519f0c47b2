"""pm_sync: patients, contacts, appointments, care teams, locations, providers, FHIR cursors

Revision ID: 0001_pm_sync
"""

from alembic import op

revision = "0001_pm_sync"
down_revision = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE pm_sync.processed_events (
            consumer text NOT NULL,
            event_id uuid NOT NULL,
            outcome text NOT NULL DEFAULT 'applied',
            processed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, event_id)
        );
        CREATE TABLE pm_sync.patients (
            practice_id text NOT NULL,
            patient_id text NOT NULL,
            given_name text NOT NULL,
            family_name text NOT NULL,
            birth_date date,
            phones text[] NOT NULL,
            emails text[] NOT NULL,
            preferred_language text,
            timezone text,
            care_team text[] NOT NULL,
            primary_contact text,
            source_updated_at timestamptz NOT NULL,
            event_id uuid NOT NULL,
            PRIMARY KEY (practice_id, patient_id)
        );
        CREATE TABLE pm_sync.contacts (
            practice_id text NOT NULL,
            contact text NOT NULL,
            patient_id text NOT NULL,
            kind text NOT NULL,
            PRIMARY KEY (practice_id, contact, patient_id)
        );
        CREATE INDEX contacts_patient ON pm_sync.contacts (practice_id, patient_id);
        CREATE TABLE pm_sync.appointments (
            practice_id text NOT NULL,
            appointment_id text NOT NULL,
            patient_id text NOT NULL,
            status text NOT NULL,
            change text NOT NULL,
            start_at timestamptz NOT NULL,
            end_at timestamptz,
            location_id text,
            provider_id text,
            source_version integer NOT NULL,
            source_updated_at timestamptz NOT NULL,
            status_rank integer NOT NULL,
            event_id uuid NOT NULL,
            event jsonb NOT NULL,
            PRIMARY KEY (practice_id, appointment_id)
        );
        CREATE INDEX appointments_patient
            ON pm_sync.appointments (practice_id, patient_id, start_at);
        CREATE TABLE pm_sync.care_teams (
            practice_id text NOT NULL,
            care_team_id text NOT NULL,
            patient_id text NOT NULL,
            members text[] NOT NULL,
            primary_contact text,
            active boolean NOT NULL,
            source_updated_at timestamptz NOT NULL,
            event_id uuid NOT NULL,
            PRIMARY KEY (practice_id, care_team_id)
        );
        CREATE INDEX care_teams_patient ON pm_sync.care_teams (practice_id, patient_id);
        CREATE TABLE pm_sync.locations (
            practice_id text NOT NULL,
            location_id text NOT NULL,
            name text NOT NULL,
            active boolean NOT NULL,
            timezone text,
            updated_at timestamptz NOT NULL,
            event_id uuid NOT NULL,
            PRIMARY KEY (practice_id, location_id)
        );
        CREATE TABLE pm_sync.providers (
            practice_id text NOT NULL,
            provider_id text NOT NULL,
            name text NOT NULL,
            active boolean NOT NULL,
            updated_at timestamptz NOT NULL,
            event_id uuid NOT NULL,
            PRIMARY KEY (practice_id, provider_id)
        );
        CREATE TABLE pm_sync.fhir_cursors (
            practice_id text NOT NULL,
            resource_type text NOT NULL,
            cursor text NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (practice_id, resource_type)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE pm_sync.fhir_cursors, pm_sync.providers, pm_sync.locations,"
        " pm_sync.care_teams, pm_sync.appointments, pm_sync.contacts, pm_sync.patients,"
        " pm_sync.processed_events"
    )
