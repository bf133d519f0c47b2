"""ingest: line labels set by practice admins (LineLabelSet), over the configured ones

Revision ID: 0002_ingest_line_labels
"""

from alembic import op

revision = "0002_ingest_line_labels"
down_revision = "0001_ingest"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ingest.line_labels (
            practice_id text NOT NULL,
            channel text NOT NULL,
            address_key text NOT NULL,
            label text,
            set_by text NOT NULL,
            set_at timestamptz NOT NULL,
            PRIMARY KEY (practice_id, channel, address_key)
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE ingest.line_labels")
