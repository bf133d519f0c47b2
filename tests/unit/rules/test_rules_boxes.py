"""Inbox and view-box names: written by the inbox projection, read back by the gateway."""

from hypothesis import given
from hypothesis import strategies as st

from switchboard.gateway import access
from switchboard.rules import boxes as bx

names = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True)


@given(names)
def test_shared_inbox_and_its_name_round_trip(name):
    inbox = bx.shared_inbox(name)
    assert bx.inbox_name(inbox) == name
    assert inbox == "unassigned" if name == "unassigned" else inbox == f"shared:{name}"


@given(names)
def test_the_gateway_reads_the_box_the_projection_writes_for_a_shared_inbox(name):
    assert access.shared_box(name) == bx.inbox_box(bx.shared_inbox(name))


def test_every_view_box_the_gateway_reads_is_one_the_projection_writes():
    personal = {bx.ASSIGNED, bx.ROUTED, bx.PRIMARY, bx.UNRECOGNIZED, bx.SENT}
    assert set(access.PERSONAL.values()) == personal
    assert set(access.CARE.values()) == {bx.CARE_TEAM, bx.CARE_TEAM_UNRECOGNIZED}
    assert set(access.ALL.values()) == {bx.ALL, bx.ALL_UNRECOGNIZED}
    assert bx.staff_box(bx.ASSIGNED, "u-1") == "assigned:u-1"
