"""ingest: email threads, outbound sends, patient contacts, the patient page

Revision ID: 0001_ingest
"""

from alembic import op

revision = "0001_ingest"
down_revision = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ingest.processed_events (
            consumer text NOT NULL,
            event_id uuid NOT NULL,
            outcome text NOT NULL DEFAULT 'applied',
            processed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, event_id)
        );

        -- Who a phone or email belongs to, folded from PatientUpserted: an SMS from a number
        -- that is not exactly one patient's is its own communication (I-THREAD-1).
        CREATE TABLE ingest.patients (
            practice_id text NOT NULL,
            patient_id text NOT NULL,
            source_updated_at timestamptz NOT NULL,
            PRIMARY KEY (practice_id, patient_id)
        );
        CREATE TABLE ingest.contacts (
            practice_id text NOT NULL,
            contact text NOT NULL,
            patient_id text NOT NULL,
            PRIMARY KEY (practice_id, contact, patient_id)
        );
        CREATE INDEX contacts_patient ON ingest.contacts (practice_id, patient_id);

        -- Conversations staff linked to a patient (ConversationLinked).
        CREATE TABLE ingest.conversation_patients (
            conversation_id uuid PRIMARY KEY,
            practice_id text NOT NULL,
            patient_id text NOT NULL
        );

        -- Every Message-ID seen or sent, with its conversation (I-THREAD-1). `party` is the
        -- patient-side address: a reply in a thread from another address starts a new one.
        CREATE TABLE ingest.email_messages (
            practice_id text NOT NULL,
            message_id text NOT NULL,
            conversation_id uuid NOT NULL,
            direction text NOT NULL,
            party text NOT NULL,
            subject text,
            at timestamptz NOT NULL,
            PRIMARY KEY (practice_id, message_id)
        );
        CREATE INDEX email_messages_conversation ON ingest.email_messages (conversation_id, at);

        -- Replies to send (one row per ReplyRequested: a redelivery never sends twice).
        CREATE TABLE ingest.outbound (
            message_id uuid PRIMARY KEY,
            practice_id text NOT NULL,
            conversation_id uuid NOT NULL,
            channel text NOT NULL,
            kind text NOT NULL,
            line text NOT NULL,
            to_addr text NOT NULL,
            request jsonb NOT NULL,
            status text NOT NULL DEFAULT 'pending',
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL,
            lease_until timestamptz,
            provider_message_id text,
            last_error text,
            done_at timestamptz,
            reported boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX outbound_due ON ingest.outbound (next_attempt_at)
            WHERE status IN ('pending', 'sending');
        CREATE INDEX outbound_unreported ON ingest.outbound (done_at)
            WHERE NOT reported AND status IN ('sent', 'failed');
        CREATE INDEX outbound_provider ON ingest.outbound (practice_id, provider_message_id);

        -- The patient page: messenger conversations and secure email, both directions.
        CREATE TABLE ingest.portal_messages (
            message_id uuid PRIMARY KEY,
            practice_id text NOT NULL,
            conversation_id uuid NOT NULL,
            channel text NOT NULL,
            direction text NOT NULL,
            body text NOT NULL,
            subject text,
            attachments jsonb NOT NULL DEFAULT '[]',
            at timestamptz NOT NULL,
            read_at timestamptz
        );
        CREATE INDEX portal_messages_conversation
            ON ingest.portal_messages (practice_id, conversation_id, at);

        CREATE TABLE ingest.sessions (
            token_hash text PRIMARY KEY,
            practice_id text NOT NULL,
            patient_id text NOT NULL,
            conversation_id uuid NOT NULL,
            kind text NOT NULL,
            address text NOT NULL,
            line text NOT NULL,
            created_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL
        );

        CREATE TABLE ingest.uploads (
            attachment_id uuid PRIMARY KEY,
            practice_id text NOT NULL,
            patient_id text NOT NULL,
            ref text NOT NULL,
            content_type text NOT NULL,
            size_bytes bigint NOT NULL,
            filename text,
            created_at timestamptz NOT NULL
        );
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE ingest.uploads, ingest.sessions, ingest.portal_messages, ingest.outbound,"
        " ingest.email_messages, ingest.conversation_patients, ingest.contacts,"
        " ingest.patients, ingest.processed_events"
    )
