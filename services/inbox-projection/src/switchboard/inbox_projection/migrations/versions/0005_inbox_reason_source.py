"""inbox: why a conversation and each routing decision carry their reason (reason_source,
R-REASON-4) and how the location was found (location_source, R-LOC-4)

Every generation gets the columns (the live one may be a rebuilt `inbox_r<n>`). Rows written
before this stay null until `switchboard-inbox-projection rebuild` refolds them from the log
(the API shows null as "not recorded").

Revision ID: 0005_inbox
"""

from alembic import op

revision = "0005_inbox"
down_revision = "0003_inbox"

_EACH_GENERATION = """
DO $$
DECLARE g text;
BEGIN
  FOR g IN SELECT schema_name FROM inbox.generations LOOP
    EXECUTE format('ALTER TABLE %I.conversations {0} reason_source {1}, '
                   '{0} location_source {1}', g);
    EXECUTE format('ALTER TABLE %I.decisions {0} reason_source {1}, '
                   '{0} location_source {1}', g);
  END LOOP;
END $$;
"""


def upgrade() -> None:
    op.execute(_EACH_GENERATION.format("ADD COLUMN IF NOT EXISTS", "text"))


def downgrade() -> None:
    op.execute(_EACH_GENERATION.format("DROP COLUMN IF EXISTS", ""))
