"""gateway: practice settings with their history (replies to unrecognized senders, X-UNREPLY-1)

Revision ID: 0003_gateway_unrec_replies (32 characters at most: alembic_version)
"""

from alembic import op

revision = "0003_gateway_unrec_replies"
down_revision = "0002_gateway_templates"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE gateway.practice_setting_changes (
            id bigserial PRIMARY KEY,
            practice_id text NOT NULL,
            setting text NOT NULL,
            value boolean NOT NULL,
            changed_by text NOT NULL,
            changed_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX practice_setting_changes_newest
            ON gateway.practice_setting_changes (practice_id, setting, id);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE gateway.practice_setting_changes")
