"""inbox: team work: who was @mentioned in notes, snoozes and their wake-up scan
(I-NOTE-1, I-SNOOZE-1), in every generation

Revision ID: 0006_inbox
"""

from alembic import op

revision = "0006_inbox"
down_revision = "0005_inbox"

# Every generation schema has the same tables (storage.gen): alter each one.
EACH = """
DO $$
DECLARE s text;
BEGIN
    FOR s IN SELECT 'inbox' UNION SELECT schema_name FROM inbox.generations LOOP
        IF to_regclass(s || '.conversations') IS NOT NULL THEN
            EXECUTE format(%s, s, s);
        END IF;
    END LOOP;
END $$;
"""


def upgrade() -> None:
    op.execute(
        EACH
        % (
            "'ALTER TABLE %I.conversations"
            " ADD COLUMN IF NOT EXISTS mentioned text[] NOT NULL DEFAULT ''{}'',"
            " ADD COLUMN IF NOT EXISTS snoozed_until timestamptz,"
            " ADD COLUMN IF NOT EXISTS snooze_id uuid;"
            " CREATE INDEX IF NOT EXISTS conversations_snoozed ON %I.conversations"
            " (snoozed_until) WHERE status = ''snoozed'' AND snoozed_until IS NOT NULL'"
        )
    )


def downgrade() -> None:
    op.execute(
        EACH
        % (
            "'DROP INDEX IF EXISTS %I.conversations_snoozed; ALTER TABLE %I.conversations"
            " DROP COLUMN mentioned, DROP COLUMN snoozed_until, DROP COLUMN snooze_id'"
        )
    )
