"""pm_sync: FHIR Communication out (X-FHIR-2): conversations, messages, reason labels

Revision ID: 0002_pm_sync_fhir_out
"""

from alembic import op

revision = "0002_pm_sync_fhir_out"
down_revision = "0001_pm_sync"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE pm_sync.fhir_out_conversations (
            practice_id text NOT NULL,
            conversation_id uuid NOT NULL,
            patient_id text,
            reason text,
            reason_at timestamptz,
            last_inbound_id uuid,
            last_inbound_at timestamptz,
            last_outbound_id uuid,
            last_outbound_at timestamptz,
            PRIMARY KEY (practice_id, conversation_id)
        );
        CREATE TABLE pm_sync.fhir_out_messages (
            practice_id text NOT NULL,
            message_id uuid NOT NULL,
            conversation_id uuid NOT NULL,
            direction text NOT NULL,
            channel text,
            at timestamptz,
            body text,
            subject text,
            attachments integer NOT NULL DEFAULT 0,
            reason text,
            provider_id text,
            staff_user text,
            in_response_to uuid,
            requested boolean NOT NULL DEFAULT false,
            sent boolean NOT NULL DEFAULT false,
            routed boolean NOT NULL DEFAULT false,
            state text NOT NULL DEFAULT 'waiting',
            server_id text,
            published_at timestamptz,
            rejected_reason text,
            PRIMARY KEY (practice_id, message_id)
        );
        CREATE INDEX fhir_out_messages_waiting
            ON pm_sync.fhir_out_messages (practice_id, conversation_id, at);
        CREATE TABLE pm_sync.fhir_out_reasons (
            practice_id text NOT NULL,
            code text NOT NULL,
            label text NOT NULL,
            PRIMARY KEY (practice_id, code)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE pm_sync.fhir_out_reasons, pm_sync.fhir_out_messages,"
        " pm_sync.fhir_out_conversations"
    )
