"""router: the SMS / email reason menu (X-MENU-1) and the patient's language (X-LANG-1)

Revision ID: 0003_router_menu
"""

from alembic import op

revision = "0003_router_menu"
down_revision = "0002_router_state"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE router.reason_menus (
            menu_id uuid PRIMARY KEY,
            practice_id text NOT NULL,
            conversation_id uuid NOT NULL,
            channel text NOT NULL,
            options jsonb NOT NULL,
            language text NOT NULL,
            window_minutes integer NOT NULL,
            sent integer NOT NULL,
            deadline timestamptz NOT NULL,
            opening jsonb NOT NULL,
            status text NOT NULL,
            outcome_reason text
        );
        CREATE UNIQUE INDEX reason_menus_pending ON router.reason_menus (conversation_id)
            WHERE status = 'pending';
        CREATE INDEX reason_menus_due ON router.reason_menus (deadline)
            WHERE status = 'pending';
        CREATE TABLE router.patient_languages (
            practice_id text NOT NULL,
            patient_id text NOT NULL,
            language text,
            source_updated_at timestamptz,
            PRIMARY KEY (practice_id, patient_id)
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE router.reason_menus; DROP TABLE router.patient_languages;")
