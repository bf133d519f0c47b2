"""notifier: settings, coalescing state, response timers, alert outbox, processed events

Revision ID: 0001_notifier
"""

from alembic import op

revision = "0001_notifier"
down_revision = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE notifier.processed_events (
            consumer text NOT NULL,
            event_id uuid NOT NULL,
            outcome text NOT NULL DEFAULT 'applied',
            processed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, event_id)
        );
        CREATE TABLE notifier.practice_settings (
            practice_id text PRIMARY KEY,
            doc jsonb NOT NULL,
            occurred_at timestamptz NOT NULL
        );
        CREATE TABLE notifier.staff_settings (
            practice_id text NOT NULL,
            staff_id text NOT NULL,
            kind text NOT NULL CHECK (kind IN ('availability', 'preferences')),
            doc jsonb NOT NULL,
            occurred_at timestamptz NOT NULL,
            PRIMARY KEY (practice_id, staff_id, kind)
        );
        CREATE TABLE notifier.webhooks (
            practice_id text NOT NULL,
            subscription_id text NOT NULL,
            url text,
            secret text,
            occurred_at timestamptz NOT NULL,
            PRIMARY KEY (practice_id, subscription_id)
        );
        CREATE TABLE notifier.coalesce (
            conversation_id uuid NOT NULL,
            staff_id text NOT NULL,
            key text NOT NULL,
            practice_id text NOT NULL,
            last_alert_at timestamptz NOT NULL,
            PRIMARY KEY (conversation_id, staff_id, key)
        );
        CREATE INDEX coalesce_age ON notifier.coalesce (last_alert_at);
        CREATE TABLE notifier.timers (
            timer_id uuid PRIMARY KEY,
            practice_id text NOT NULL,
            conversation_id uuid NOT NULL,
            status text NOT NULL CHECK (status IN ('pending', 'fired', 'cancelled')),
            started_at timestamptz NOT NULL,
            due_at timestamptz NOT NULL,
            target_minutes integer NOT NULL,
            routing_reason text,
            recipients jsonb NOT NULL,
            assignee text,
            message_id uuid,
            patient_id text,
            correlation_id uuid NOT NULL,
            cause_event_id uuid NOT NULL,
            fired_at timestamptz,
            cancelled_at timestamptz,
            escalation_event_id uuid
        );
        -- At most one running timer per conversation.
        CREATE UNIQUE INDEX timers_one_pending ON notifier.timers (conversation_id)
            WHERE status = 'pending';
        CREATE INDEX timers_due ON notifier.timers (due_at) WHERE status = 'pending';
        CREATE TABLE notifier.outbox (
            alert_id uuid PRIMARY KEY,
            practice_id text NOT NULL,
            channel text NOT NULL CHECK (channel IN ('email', 'sms', 'webhook')),
            endpoint_key text NOT NULL,
            address text NOT NULL,
            alert jsonb NOT NULL,
            status text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL,
            lease_until timestamptz,
            last_error text,
            done_at timestamptz,
            reported boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX outbox_due ON notifier.outbox (next_attempt_at)
            WHERE status IN ('pending', 'sending');
        CREATE INDEX outbox_unreported ON notifier.outbox (done_at)
            WHERE NOT reported AND status IN ('sent', 'failed');
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE notifier.outbox, notifier.timers, notifier.coalesce, notifier.webhooks,"
        " notifier.staff_settings, notifier.practice_settings, notifier.processed_events"
    )
