"""Who reads which inbox view (pure): roles x policies x views (T-2, I-VIEW-1..4)."""

from __future__ import annotations

import pytest

from switchboard.gateway import access
from switchboard.gateway.auth import Principal


def who(role: str, *policies: str, user: str = "u-1") -> Principal:
    return Principal(user, "demo", role, frozenset(policies))


ADMIN = who("practice_admin", "inbox.full_patient")
CARE = who("staff", "inbox.care_team")
FULL = who("staff", "inbox.full_patient")
PLAIN = who("staff")
API = who("api_client", "inbox.api")
NO_INBOX = who("no_inbox")
OPERATOR = who("platform_operator")

VIEWS = [
    ("my", "assigned"),
    ("my", "routed"),
    ("my", "primary-contact"),
    ("my", "unrecognized"),
    ("my", "sent"),
    ("care-team", "directed"),
    ("care-team", "unrecognized"),
    ("all", "directed"),
    ("all", "unrecognized"),
    ("shared", "unassigned"),
    ("shared", "refills"),
]
# 1 = may read, 0 = 403 (subscribed: PLAIN to nothing)
EXPECTED = {
    "ADMIN": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    "CARE": [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0],
    "FULL": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    "PLAIN": [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
    "API": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    "NO_INBOX": [0] * 11,
    "OPERATOR": [0] * 11,
}
PRINCIPALS = {
    "ADMIN": ADMIN,
    "CARE": CARE,
    "FULL": FULL,
    "PLAIN": PLAIN,
    "API": API,
    "NO_INBOX": NO_INBOX,
    "OPERATOR": OPERATOR,
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_matrix_of_roles_policies_and_views(name):
    # covers T-2, I-VIEW-1, I-VIEW-2, I-VIEW-3, I-VIEW-4
    p = PRINCIPALS[name]
    got = []
    for group, view in VIEWS:
        try:
            access.view_for(p, group, view, subscribed=[])
            got.append(1)
        except access.Forbidden:
            got.append(0)
    assert got == EXPECTED[name]


def test_subscribers_read_their_shared_inbox_only():
    # covers R-SUB-2, I-VIEW-4
    assert access.view_for(PLAIN, "shared", "refills", ["shared:refills"]).box == (
        "inbox:shared:refills"
    )
    with pytest.raises(access.Forbidden):
        access.view_for(PLAIN, "shared", "unassigned", ["shared:refills"])


def test_labels_show_in_my_inbox_and_unassigned_not_custom_shared():
    # covers R-LABEL-1
    assert access.view_for(ADMIN, "my", "assigned", []).labels
    assert access.view_for(ADMIN, "shared", "unassigned", []).labels
    assert not access.view_for(ADMIN, "shared", "refills", []).labels


def test_unknown_views_and_other_users():
    with pytest.raises(access.UnknownView):
        access.view_for(ADMIN, "my", "everything", [])
    with pytest.raises(access.UnknownView):
        access.view_for(ADMIN, "shared", "Bad Name!", [])
    with pytest.raises(access.Forbidden):
        access.view_for(ADMIN, "my", "assigned", [], user="u-2")
    assert access.view_for(API, "my", "assigned", [], user="u-2").box == "assigned:u-2"


def test_can_see_a_conversation_by_its_boxes():
    # covers T-2
    boxes = ["inbox:unassigned", "careteam:u-1", "all"]
    assert access.can_see(CARE, boxes, [])
    assert not access.can_see(PLAIN, boxes, [])
    assert access.can_see(PLAIN, boxes, ["unassigned"])
    assert access.can_see(ADMIN, ["inbox:shared:x"], [])
    assert not access.can_see(NO_INBOX, ["assigned:u-1"], [])
    assert access.can_see(PLAIN, ["assigned:u-1"], [])
    assert not access.can_see(who("staff", "inbox.care_team", user="u-2"), boxes, [])


def test_who_could_see_an_inbox():
    # covers X-ASOF-1
    staff = [
        who("practice_admin", user="admin"),
        who("staff", user="sub"),
        who("staff", user="other"),
        who("api_client", "inbox.api", user="api"),
        who("no_inbox", user="nobody"),
    ]
    assert access.who_could_see("inbox:unassigned", staff, ["sub"]) == ["admin", "api", "sub"]
    assert access.who_could_see("assigned:other", staff, []) == ["api", "other"]
    assert access.who_could_see("all", staff, []) == ["api"]
