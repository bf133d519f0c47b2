"""gateway: saved routing proposals (X-WHATIF-1c), replayed by the what-if and applied in
one step

Revision ID: 0006_gateway
"""

from alembic import op

revision = "0006_gateway"
down_revision = "0005_gateway_api_clients"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE gateway.routing_proposals (
            proposal_id uuid PRIMARY KEY,
            practice_id text NOT NULL,
            name text NOT NULL,
            body jsonb NOT NULL,
            created_by text NOT NULL,
            created_at timestamptz NOT NULL,
            applied_by text,
            applied_at timestamptz,
            applied_event_id uuid
        );
        CREATE INDEX routing_proposals_practice ON gateway.routing_proposals
            (practice_id, created_at);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE gateway.routing_proposals")
