"""gateway: reply templates per practice (ADR 0005)

Revision ID: 0002_gateway_templates
"""

from alembic import op

revision = "0002_gateway_templates"
down_revision = "0001_gateway"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE gateway.templates (
            practice_id text NOT NULL,
            template_id text NOT NULL,
            name text NOT NULL,
            body text NOT NULL,
            updated_by text NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (practice_id, template_id)
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE gateway.templates")
