"""notifier: response timers pause while a conversation is snoozed (I-SNOOZE-1)

Revision ID: 0002_notifier
"""

from alembic import op

revision = "0002_notifier"
down_revision = "0001_notifier"


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE notifier.timers ADD COLUMN IF NOT EXISTS paused_at timestamptz;
        ALTER TABLE notifier.timers DROP CONSTRAINT IF EXISTS timers_status_check;
        ALTER TABLE notifier.timers ADD CONSTRAINT timers_status_check
            CHECK (status IN ('pending', 'paused', 'fired', 'cancelled'));
        """
    )


def downgrade() -> None:
    op.execute(
        """
        UPDATE notifier.timers SET status = 'cancelled' WHERE status = 'paused';
        ALTER TABLE notifier.timers DROP CONSTRAINT IF EXISTS timers_status_check;
        ALTER TABLE notifier.timers ADD CONSTRAINT timers_status_check
            CHECK (status IN ('pending', 'fired', 'cancelled'));
        ALTER TABLE notifier.timers DROP COLUMN paused_at;
        """
    )
