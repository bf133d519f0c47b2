"""inbox: each staff member's role and policies over time (X-ASOF-1a), in every generation

Revision ID: 0008_inbox
"""

from alembic import op

revision = "0008_inbox"
down_revision = "0007_inbox"

# Every generation schema has the same tables (storage.gen): add it to each one.
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
            "'CREATE TABLE IF NOT EXISTS %I.staff_access_history ("
            " practice_id text NOT NULL, staff_id text NOT NULL, role text NOT NULL,"
            " policies text[] NOT NULL, event_id uuid NOT NULL,"
            " valid_from timestamptz NOT NULL, valid_to timestamptz);"
            " CREATE INDEX IF NOT EXISTS staff_access_history_staff ON %I.staff_access_history"
            " (practice_id, staff_id, valid_from)'"
        )
    )


def downgrade() -> None:
    # format() ignores the second schema argument here
    op.execute(EACH % "'DROP TABLE IF EXISTS %I.staff_access_history'")
