"""inbox: the reports read model (X-REPORT-1, ADR 0021): its generation pointer and its first
generation's tables (`report_*` in schema inbox). A system that already has a log fills them
with `switchboard-inbox-projection rebuild-reports`; the live reports consumer, a new consumer
group, also reads the log from the start.

Revision ID: 0007_inbox
"""

from alembic import op

from switchboard.inbox_projection.reports_storage import create_generation

revision = "0007_inbox"
down_revision = "0006_inbox"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE inbox.report_generations (
            schema_name text PRIMARY KEY,
            active boolean NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            activated_at timestamptz,
            events integer
        );
        CREATE UNIQUE INDEX report_generations_one_active
            ON inbox.report_generations (active) WHERE active;
        INSERT INTO inbox.report_generations (schema_name, active, activated_at)
        VALUES ('inbox', true, now());
        """
    )
    create_generation(op.get_bind(), "inbox")


def downgrade() -> None:
    op.execute(
        "DROP TABLE inbox.report_conversations, inbox.report_messages, inbox.report_practices, "
        "inbox.report_generations"
    )
