"""inbox: conversations, messages, processed events

Revision ID: 0001_inbox
"""

from alembic import op

revision = "0001_inbox"
down_revision = None


def upgrade() -> None:
    op.execute(
        """
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE TABLE inbox.processed_events (
            consumer text NOT NULL,
            event_id uuid NOT NULL,
            outcome text NOT NULL DEFAULT 'applied',
            processed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, event_id)
        );
        CREATE TABLE inbox.conversations (
            conversation_id uuid PRIMARY KEY,
            practice_id text NOT NULL,
            channel text NOT NULL,
            line text NOT NULL,
            sender text NOT NULL,
            patient_id text,
            status text NOT NULL DEFAULT 'open',
            assignee text,
            reason text,
            location_id text,
            provider_id text,
            inboxes text[] NOT NULL DEFAULT '{}',
            recipients text[] NOT NULL DEFAULT '{}',
            explanation jsonb,
            message_count integer NOT NULL DEFAULT 0,
            last_message_at timestamptz,
            routed_at timestamptz,
            version integer NOT NULL DEFAULT 0
        );
        CREATE INDEX conversations_inboxes ON inbox.conversations USING gin (inboxes);
        CREATE INDEX conversations_practice_recent
            ON inbox.conversations (practice_id, last_message_at DESC, conversation_id);
        CREATE TABLE inbox.messages (
            message_id uuid PRIMARY KEY,
            practice_id text NOT NULL,
            conversation_id uuid NOT NULL,
            direction text NOT NULL,
            channel text NOT NULL,
            sender text NOT NULL,
            recipient text NOT NULL,
            subject text,
            body text NOT NULL DEFAULT '',
            attachments jsonb NOT NULL DEFAULT '[]',
            sent_at timestamptz NOT NULL
        );
        CREATE INDEX messages_conversation ON inbox.messages (conversation_id, sent_at);
        CREATE INDEX messages_body_trgm ON inbox.messages USING gin (body gin_trgm_ops);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE inbox.messages, inbox.conversations, inbox.processed_events")
