"""inbox: look-ups of a batch's patients and their conversations by patient id; a
conversation's own clock (membership history stamps); no version in `applied`

Revision ID: 0003_inbox
"""

from alembic import op

revision = "0003_inbox"
down_revision = "0002_inbox"


def upgrade() -> None:
    op.execute(
        """
        CREATE INDEX IF NOT EXISTS conversations_patient_id ON inbox.conversations (patient_id);
        CREATE INDEX IF NOT EXISTS patients_by_id ON inbox.patients (patient_id);
        ALTER TABLE inbox.conversations ADD COLUMN IF NOT EXISTS changed_at timestamptz;
        ALTER TABLE inbox.applied DROP COLUMN IF EXISTS version;
        """
    )


def downgrade() -> None:
    op.execute("DROP INDEX inbox.conversations_patient_id, inbox.patients_by_id")
