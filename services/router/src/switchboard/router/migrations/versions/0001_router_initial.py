"""router: conversations, decisions, processed events

Revision ID: 0001_router
"""

from alembic import op

revision = "0001_router"
down_revision = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE router.processed_events (
            consumer text NOT NULL,
            event_id uuid NOT NULL,
            outcome text NOT NULL DEFAULT 'applied',
            processed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, event_id)
        );
        CREATE TABLE router.conversations (
            conversation_id uuid PRIMARY KEY,
            practice_id text NOT NULL,
            patient_id text,
            reason text,
            reason_set_at timestamptz,
            last_patient_message_at timestamptz,
            status text NOT NULL DEFAULT 'open',
            assigned boolean NOT NULL DEFAULT false,
            patient_read_last boolean NOT NULL DEFAULT true
        );
        CREATE TABLE router.decisions (
            event_id uuid PRIMARY KEY,
            practice_id text NOT NULL,
            conversation_id uuid NOT NULL,
            message_id uuid,
            decided_at timestamptz NOT NULL,
            decision jsonb NOT NULL
        );
        CREATE INDEX decisions_conversation ON router.decisions (practice_id, conversation_id);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE router.decisions, router.conversations, router.processed_events")
