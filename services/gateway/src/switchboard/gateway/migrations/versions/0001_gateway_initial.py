"""gateway: users and the conversation access log

Revision ID: 0001_gateway
"""

from alembic import op

revision = "0001_gateway"
down_revision = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE gateway.users (
            user_id text PRIMARY KEY,
            practice_id text NOT NULL,
            username text NOT NULL UNIQUE,
            display_name text NOT NULL,
            password_hash text NOT NULL,
            role text NOT NULL,
            policies text[] NOT NULL DEFAULT '{}'
        );
        CREATE TABLE gateway.access_log (
            id bigserial PRIMARY KEY,
            practice_id text NOT NULL,
            user_id text NOT NULL,
            conversation_id uuid NOT NULL,
            action text NOT NULL,
            at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX access_log_conversation
            ON gateway.access_log (practice_id, conversation_id, at);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE gateway.access_log, gateway.users")
