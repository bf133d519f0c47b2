"""inbox: read models in generations (rebuild and switch), membership for every view,
membership history, patients, care teams, deliveries, decisions, reads, search indexes

The first shapes (conversations, messages) are replaced: the read models are a projection
of the log, so after this migration run `switchboard-inbox-projection rebuild` on a system
that already had messages (a fresh one needs nothing).

Revision ID: 0002_inbox
"""

from alembic import op

from switchboard.inbox_projection.storage import create_generation

revision = "0002_inbox"
down_revision = "0001_inbox"


def upgrade() -> None:
    op.execute(
        """
        DROP TABLE IF EXISTS inbox.messages, inbox.conversations;
        CREATE TABLE inbox.generations (
            schema_name text PRIMARY KEY,
            active boolean NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            activated_at timestamptz,
            events integer
        );
        CREATE UNIQUE INDEX generations_one_active ON inbox.generations (active) WHERE active;
        INSERT INTO inbox.generations (schema_name, active, activated_at)
        VALUES ('inbox', true, now());
        """
    )
    create_generation(op.get_bind(), "inbox")


def downgrade() -> None:
    raise NotImplementedError("rebuild instead: the read models are a projection of the log")
