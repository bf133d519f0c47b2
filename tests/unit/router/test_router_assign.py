"""Auto-assignment per shared inbox (X-BALANCE-1)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from router_builders import T0, conversation, message, settings, state

from switchboard.router.assign import least_open, round_robin, turn_order
from switchboard.router.decision import decide
from switchboard.router.model import RoutingSettings, StaffAvailability, Subscription

DESK = tuple(Subscription(f"desk-{c}", inboxes={"unassigned"}) for c in "abc")
REFILLS = tuple(Subscription(f"rx-{c}", inboxes={"shared:refills"}) for c in "xy")


# covers X-BALANCE-1
@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (None, "desk-a"),
        ("desk-a", "desk-b"),
        ("desk-b", "desk-c"),
        ("desk-c", "desk-a"),
        # the cursor's person left the inbox: the next one after them in order takes the turn
        ("desk-bb", "desk-c"),
        ("zz", "desk-a"),
    ],
)
def test_round_robin_cursor(last, expected):
    assert round_robin(["desk-a", "desk-b", "desk-c"], last) == expected


# covers X-BALANCE-1
def test_round_robin_has_nobody_to_pick_from_an_empty_inbox():
    assert round_robin([], "desk-a") is None


# covers X-BALANCE-1
@pytest.mark.parametrize(
    ("open_work", "last", "expected"),
    [
        ({"desk-a": 3, "desk-b": 1, "desk-c": 2}, None, "desk-b"),
        ({"desk-a": 1, "desk-b": 1, "desk-c": 1}, "desk-a", "desk-b"),  # ties go round robin
        ({"desk-a": 0, "desk-b": 1, "desk-c": 0}, "desk-a", "desk-c"),
        ({}, "desk-c", "desk-a"),  # nobody has open work: round robin
    ],
)
def test_least_open_work(open_work, last, expected):
    assert least_open(["desk-a", "desk-b", "desk-c"], open_work, last) == expected


def test_turn_order_rotates_after_the_cursor():
    assert turn_order(["a", "b", "c"], "b") == ["c", "a", "b"]


def _balanced(policy: str, **extra: object) -> RoutingSettings:
    return settings(auto_assign={"unassigned": policy}, **extra)


# covers X-BALANCE-1
def test_off_by_default():
    decision = decide(message(), state(subscriptions=DESK), settings(), T0)
    assert decision.assignee is None and decision.assigned_via is None


# covers X-BALANCE-1
def test_round_robin_over_successive_messages_never_picks_someone_away():
    st = state(
        subscriptions=DESK, availability={"desk-b": StaffAvailability(away=True)}, rr_cursor={}
    )
    picked = []
    for n in range(4):
        d = decide(message(n=n), st, _balanced("round_robin"), T0)
        picked.append(d.assignee)
        # The handler moves the cursor of the inbox that assigned.
        st = replace(st, rr_cursor={d.assigned_via: d.assignee})
    assert picked == ["desk-a", "desk-c", "desk-a", "desk-c"]


# covers X-BALANCE-1
def test_least_open_work_skips_the_away_member_with_least_work():
    st = state(
        subscriptions=DESK,
        open_work={"desk-a": 5, "desk-b": 0, "desk-c": 2},
        availability={"desk-b": StaffAvailability(away=True)},
    )
    assert decide(message(), st, _balanced("least_open"), T0).assignee == "desk-c"


# covers X-BALANCE-1
def test_everyone_away_assigns_nobody_and_says_so():
    away = {s.staff_id: StaffAvailability(away=True) for s in DESK}
    d = decide(
        message(), state(subscriptions=DESK, availability=away), _balanced("round_robin"), T0
    )
    assert d.assignee is None
    assert d.explanation[-1].rule == "X-BALANCE-1"
    assert d.explanation[-1].outcome == "no available subscriber to assign"


# covers X-BALANCE-1
def test_custom_shared_inbox_policy_comes_before_unassigned():
    s = settings(
        voicemail_extensions={"5": "shared:refills"},
        auto_assign={"unassigned": "round_robin", "shared:refills": "round_robin"},
    )
    st = state(subscriptions=DESK + REFILLS)
    d = decide(message("voicemail", extension="5"), st, s, T0)
    assert (d.assignee, d.assigned_via) == ("rx-x", "shared:refills")
    # A web message does not go to Refills: the Unassigned policy applies.
    d = decide(message("web_chat"), st, s, T0)
    assert (d.assignee, d.assigned_via) == ("desk-a", "unassigned")


# covers X-BALANCE-1
def test_a_conversation_someone_holds_is_not_reassigned():
    held = conversation(status="open", assigned=True, assignee="desk-c", last=T0)
    d = decide(
        message(at=T0), state(subscriptions=DESK, conversation=held), _balanced("round_robin"), T0
    )
    assert d.assignee is None


def test_unknown_policy_is_rejected():
    with pytest.raises(ValueError, match="policy"):
        RoutingSettings("p", auto_assign={"unassigned": "random"})  # type: ignore[dict-item]
