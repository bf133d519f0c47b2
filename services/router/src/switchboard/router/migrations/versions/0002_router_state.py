"""router: configuration with history, patients, contacts, appointments, directory

Revision ID: 0002_router_state
"""

from alembic import op

revision = "0002_router_state"
down_revision = "0001_router"


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE router.conversations
            ADD COLUMN assignee text,
            ADD COLUMN location_id text,
            ADD COLUMN provider_id text,
            ADD COLUMN shared_inboxes text[] NOT NULL DEFAULT '{}';
        CREATE INDEX conversations_patient_open ON router.conversations (practice_id, patient_id)
            WHERE status = 'open';
        CREATE INDEX conversations_assignee_open ON router.conversations (practice_id, assignee)
            WHERE status = 'open';
        ALTER TABLE router.decisions ADD COLUMN inputs jsonb;
        CREATE INDEX decisions_message ON router.decisions (message_id);
        CREATE INDEX decisions_practice_time ON router.decisions (practice_id, decided_at);

        CREATE TABLE router.practice_config (
            practice_id text PRIMARY KEY,
            config jsonb NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE TABLE router.config_history (
            event_id uuid PRIMARY KEY,
            practice_id text NOT NULL,
            seq integer NOT NULL,
            event_type text NOT NULL,
            actor text NOT NULL,
            occurred_at timestamptz NOT NULL,
            change jsonb NOT NULL,
            settings_version integer NOT NULL,
            subscriptions_version integer NOT NULL,
            config jsonb NOT NULL,
            UNIQUE (practice_id, seq)
        );
        CREATE INDEX config_history_time ON router.config_history (practice_id, occurred_at);

        CREATE TABLE router.patients (
            practice_id text NOT NULL,
            patient_id text NOT NULL,
            profile_location_id text,
            profile_provider_id text,
            contacts text[] NOT NULL DEFAULT '{}',
            source_updated_at timestamptz,
            PRIMARY KEY (practice_id, patient_id)
        );
        CREATE TABLE router.patient_contacts (
            practice_id text NOT NULL,
            contact text NOT NULL,
            patient_id text NOT NULL,
            PRIMARY KEY (practice_id, contact, patient_id)
        );
        CREATE TABLE router.appointments (
            practice_id text NOT NULL,
            appointment_id text NOT NULL,
            patient_id text NOT NULL,
            start timestamptz NOT NULL,
            location_id text,
            provider_id text,
            active boolean NOT NULL,
            source_version integer NOT NULL,
            source_updated_at timestamptz NOT NULL,
            event_id uuid NOT NULL,
            PRIMARY KEY (practice_id, appointment_id)
        );
        CREATE INDEX appointments_patient ON router.appointments (practice_id, patient_id)
            WHERE active;
        CREATE TABLE router.directory (
            practice_id text NOT NULL,
            kind text NOT NULL,
            item_id text NOT NULL,
            name text NOT NULL,
            active boolean NOT NULL,
            PRIMARY KEY (practice_id, kind, item_id)
        );
        CREATE TABLE router.rr_cursor (
            practice_id text NOT NULL,
            inbox text NOT NULL,
            last_staff_id text NOT NULL,
            PRIMARY KEY (practice_id, inbox)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE router.rr_cursor, router.directory, router.appointments,
            router.patient_contacts, router.patients, router.config_history,
            router.practice_config;
        DROP INDEX router.decisions_message, router.decisions_practice_time;
        ALTER TABLE router.decisions DROP COLUMN inputs;
        DROP INDEX router.conversations_patient_open, router.conversations_assignee_open;
        ALTER TABLE router.conversations DROP COLUMN assignee, DROP COLUMN location_id,
            DROP COLUMN provider_id, DROP COLUMN shared_inboxes;
        """
    )
