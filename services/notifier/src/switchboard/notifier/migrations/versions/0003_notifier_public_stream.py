"""notifier: the public stream's announced conversations, public events, event webhooks

Revision ID: 0003_notifier_public_stream
"""

from alembic import op

revision = "0003_notifier_public_stream"
down_revision = "0002_notifier"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE notifier.public_conversations (
            conversation_id uuid PRIMARY KEY,
            practice_id text NOT NULL,
            created_at timestamptz NOT NULL
        );
        CREATE TABLE notifier.public_events (
            seq bigserial PRIMARY KEY,
            event_id uuid NOT NULL,
            practice_id text NOT NULL,
            conversation_id uuid NOT NULL,
            event_type text NOT NULL,
            occurred_at timestamptz NOT NULL,
            payload jsonb NOT NULL
        );
        CREATE UNIQUE INDEX public_events_id ON notifier.public_events (event_id);
        CREATE INDEX public_events_practice_time
            ON notifier.public_events (practice_id, occurred_at);
        CREATE TABLE notifier.event_webhook_endpoints (
            endpoint_id uuid PRIMARY KEY,
            practice_id text NOT NULL,
            url text NOT NULL,
            secret text NOT NULL,
            description text NOT NULL DEFAULT '',
            event_types jsonb NOT NULL,
            status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
            paused_reason text,
            consecutive_failures integer NOT NULL DEFAULT 0,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX event_webhook_endpoints_practice
            ON notifier.event_webhook_endpoints (practice_id);
        CREATE TABLE notifier.event_webhook_deliveries (
            seq bigserial PRIMARY KEY,
            delivery_id uuid NOT NULL,
            endpoint_id uuid NOT NULL,
            practice_id text NOT NULL,
            conversation_id uuid NOT NULL,
            event_id uuid NOT NULL,
            event_type text NOT NULL,
            occurred_at timestamptz NOT NULL,
            status text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'delivered')),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            lease_until timestamptz,
            last_status integer,
            last_error text,
            delivered_at timestamptz,
            redelivery boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX event_webhook_deliveries_id
            ON notifier.event_webhook_deliveries (delivery_id);
        CREATE INDEX event_webhook_deliveries_queue
            ON notifier.event_webhook_deliveries (endpoint_id, conversation_id, seq)
            WHERE status <> 'delivered';
        CREATE INDEX event_webhook_deliveries_log
            ON notifier.event_webhook_deliveries (endpoint_id, seq);
        CREATE TABLE notifier.event_webhook_attempts (
            delivery_id uuid NOT NULL,
            attempt integer NOT NULL,
            endpoint_id uuid NOT NULL,
            at timestamptz NOT NULL,
            status_code integer,
            error text,
            duration_ms integer NOT NULL,
            PRIMARY KEY (delivery_id, attempt)
        );
        CREATE INDEX event_webhook_attempts_endpoint
            ON notifier.event_webhook_attempts (endpoint_id, at);
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE notifier.event_webhook_attempts, notifier.event_webhook_deliveries,"
        " notifier.event_webhook_endpoints, notifier.public_events,"
        " notifier.public_conversations"
    )
