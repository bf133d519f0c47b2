"""gateway: API clients (ADR 0024), the sign-in attempt limit, API calls in the access log

Revision ID: 0005_gateway_api_clients
"""

from alembic import op

revision = "0005_gateway_api_clients"
down_revision = "0004_gateway_template_languages"


def upgrade() -> None:
    # secret_hash: argon2 of the client secret (never the secret). key_hash: HMAC of the
    # client id or username that failed. An API client's call that names no conversation is
    # in the access log too, so conversation_id may be empty.
    op.execute(
        """
        CREATE TABLE gateway.api_clients (
            client_id text PRIMARY KEY,
            practice_id text NOT NULL,
            name text NOT NULL,
            secret_hash text NOT NULL,
            secret_version integer NOT NULL DEFAULT 1,
            created_by text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            rotated_at timestamptz,
            last_used_at timestamptz,
            revoked_at timestamptz,
            revoked_by text
        );
        CREATE INDEX api_clients_practice ON gateway.api_clients (practice_id);
        CREATE TABLE gateway.sign_in_failures (
            key_hash text NOT NULL,
            failed_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX sign_in_failures_key ON gateway.sign_in_failures (key_hash, failed_at);
        CREATE INDEX sign_in_failures_at ON gateway.sign_in_failures (failed_at);
        ALTER TABLE gateway.access_log ALTER COLUMN conversation_id DROP NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DELETE FROM gateway.access_log WHERE conversation_id IS NULL;
        ALTER TABLE gateway.access_log ALTER COLUMN conversation_id SET NOT NULL;
        DROP TABLE gateway.sign_in_failures, gateway.api_clients;
        """
    )
