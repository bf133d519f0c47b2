"""ingest: failed patient sign-ins, shared by every replica (the attempt limiter)

Revision ID: 0003_ingest_sign_in_failures
"""

from alembic import op

revision = "0003_ingest_sign_in_failures"
down_revision = "0002_ingest_line_labels"


def upgrade() -> None:
    # key_hash: HMAC of practice + phone (or secure message id); never the identity itself.
    op.execute(
        """
        CREATE TABLE ingest.sign_in_failures (
            key_hash text NOT NULL,
            failed_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX sign_in_failures_key ON ingest.sign_in_failures (key_hash, failed_at);
        CREATE INDEX sign_in_failures_at ON ingest.sign_in_failures (failed_at);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE ingest.sign_in_failures")
