"""gateway: a reply template's body per language (X-LANG-4)

Revision ID: 0004_gateway_template_languages
"""

from alembic import op

revision = "0004_gateway_template_languages"
down_revision = "0003_gateway_unrec_replies"


def upgrade() -> None:
    op.execute("ALTER TABLE gateway.templates ADD COLUMN bodies jsonb NOT NULL DEFAULT '{}'::jsonb")


def downgrade() -> None:
    op.execute("ALTER TABLE gateway.templates DROP COLUMN bodies")
