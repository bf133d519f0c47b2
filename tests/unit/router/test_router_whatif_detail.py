"""What-if in detail (X-WHATIF-1a, X-WHATIF-1b): chained effects re-simulated in order, and
per staff member the reason x location combinations gained or lost, with examples."""

from __future__ import annotations

import uuid
from dataclasses import replace

from router_builders import (
    BILLING,
    BROOKLYN,
    FRONT_DESK,
    HOUR,
    MA_1,
    MA_2,
    MANHATTAN,
    MINUTE,
    T0,
    conversation,
    message,
    patient,
    settings,
    state,
)

from switchboard.router.whatif import ComboChange, what_if

TEAM = (MA_1, MA_2, FRONT_DESK, BILLING)
CID = message().conversation_id


def test_a_reason_the_proposal_sets_feeds_the_next_messages_stickiness():
    # covers X-WHATIF-1, X-WHATIF-1a, R-STICKY-1
    # Live, reason routing was off: the patient's Billing pick set nothing, and the router
    # remembered no reason. Staff closed it; twenty minutes later the patient writes again.
    first = message(reason="billing", at=T0, n=1)
    second = message(at=T0 + 20 * MINUTE, n=2)
    live_after_first = conversation(reason=None, last=T0, status="closed")
    history = [
        (first, state(patient=patient(MANHATTAN))),
        (second, state(patient=patient(MANHATTAN), conversation=live_after_first)),
    ]
    report = what_if(history, settings(reason_routing=False), settings(reason_routing=True))
    staff = {c.staff_id: c for c in report.staff}
    # Off, everyone at Manhattan receives both. On, the pick routes the first message to
    # Billing, and the second, within the hour, keeps Billing (sticky): billing-1 still
    # receives both (replayed without the chain, the second would be Other: front desk only).
    assert (staff["billing-1"].after, staff["billing-1"].lost) == (2, 0)
    assert (staff["ma-manhattan-1"].after, staff["ma-manhattan-1"].lost) == (0, 2)
    lost = [c for c in report.combos if c.staff_id == "ma-manhattan-1"]
    assert lost == [ComboChange("ma-manhattan-1", "lost", "other", MANHATTAN, 2, (CID,))]


def test_combinations_gained_and_lost_per_person_with_example_conversations():
    # covers X-WHATIF-1, X-WHATIF-1b
    convs = [uuid.UUID(int=100 + n) for n in range(5)]
    history = [
        (
            message(reason="prescriptions_refills", at=T0 + n * HOUR, n=n, conversation=c),
            state(patient=patient(BROOKLYN if n < 4 else MANHATTAN)),
        )
        for n, c in enumerate(convs)
    ]
    ma1_brooklyn = replace(MA_1, locations={BROOKLYN})
    report = what_if(history, settings(), settings(), None, (ma1_brooklyn, MA_2, FRONT_DESK))
    combos = {(c.staff_id, c.change, c.reason, c.location): c for c in report.combos}
    gained = combos["ma-manhattan-1", "gained", "prescriptions_refills", BROOKLYN]
    assert gained.messages == 4 and gained.examples == tuple(convs[:3])  # at most 3 examples
    lost = combos["ma-manhattan-1", "lost", "prescriptions_refills", MANHATTAN]
    assert lost.messages == 1 and lost.examples == (convs[4],)
    assert {c.staff_id for c in report.combos} == {"ma-manhattan-1"}
