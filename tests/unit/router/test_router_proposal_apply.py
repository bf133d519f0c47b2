"""A saved routing proposal applied in one step is one change (X-WHATIF-1c): one event, one
settings version and one subscriptions version, whatever it holds."""

from __future__ import annotations

import uuid
from datetime import timedelta

from router_builders import BROOKLYN, MANHATTAN, PRACTICE, T0

from switchboard.events import (
    ProposedSubscription,
    RoutingProposalApplied,
    StaffSubscriptionsSet,
)
from switchboard.inbox_projection.model import Fold
from switchboard.router.practice_config import PracticeConfig


def envelope(n: int) -> dict[str, object]:
    return {
        "event_id": uuid.UUID(int=n),
        "correlation_id": uuid.UUID(int=n),
        "practice_id": PRACTICE,
        "occurred_at": T0 + timedelta(minutes=n),
        "actor": "u-admin",
    }


def proposal() -> RoutingProposalApplied:
    return RoutingProposalApplied(
        **envelope(2),
        proposal_id=uuid.UUID(int=99),
        location_routing=True,
        subscriptions=(
            ProposedSubscription(staff_id="ma-1", reasons=("billing",), locations=(BROOKLYN,)),
            ProposedSubscription(staff_id="ma-2"),  # unsubscribed
            ProposedSubscription(staff_id="front", inboxes=("unassigned",)),
        ),
    )


def test_applying_a_proposal_is_one_settings_and_one_subscriptions_version():
    # covers X-WHATIF-1c
    before = PracticeConfig.initial(PRACTICE).apply(
        StaffSubscriptionsSet(**envelope(1), staff_id="ma-2", reasons=("other",))
    )
    after = before.apply(proposal())
    assert after.seq == before.seq + 1
    assert after.settings.version == before.settings.version + 1
    assert after.subscriptions_version == before.subscriptions_version + 1
    assert after.settings.location_routing and not after.settings.reason_routing
    assert set(after.subscriptions) == {"ma-1", "front"}
    assert after.subscriptions["ma-1"].locations == {BROOKLYN}
    assert MANHATTAN not in after.subscriptions["ma-1"].locations


def test_the_inbox_keeps_the_shared_inboxes_a_proposal_subscribes_to():
    # covers X-WHATIF-1c, X-ASOF-1
    fold = Fold()
    fold.apply([proposal()])
    assert [(r["staff_id"], r["inbox"]) for r in fold.subs_open] == [("front", "unassigned")]
    assert fold.applied[0]["event_id"] == uuid.UUID(int=2)
