"""@mention parsing and the refusal reasons of a note (pure)."""

from __future__ import annotations

from switchboard.gateway import access, mentions
from switchboard.gateway.auth import Principal


def test_written_mentions_are_ids_after_at_not_email_addresses():
    # covers I-NOTE-1
    body = "@u-2 and @u-front-1, please call ada@example.org. Thanks @u-3."
    assert mentions.written(body) == ["u-2", "u-front-1", "u-3"]


def test_mentioned_takes_chosen_ids_and_written_staff_ids_only():
    # covers I-NOTE-1
    staff = {"u-2", "u-3"}
    assert mentions.mentioned("ask @u-3 or @nobody", ["u-2"], staff) == ["u-2", "u-3"]


def test_problems_name_who_is_refused_and_why():
    # covers I-NOTE-1
    names = {"u-2": "Sam", "u-3": "Kim"}
    assert mentions.problems(["u-2", "u-3", "ghost"], names, ["u-2"]) == [
        "Kim (u-3) cannot see this patient's conversation",
        "ghost is not a colleague in this practice",
    ]


def test_the_mentions_view_lists_but_grants_no_access():
    # covers I-NOTE-1
    p = Principal("u-2", "demo", "staff", frozenset())
    v = access.view_for(p, "my", "mentions", [])
    assert v.box == "mentioned:u-2"
    assert "my/mentions" in [x.path for x in access.views_for(p, [], [])]
    assert not access.can_see(p, ["mentioned:u-2", "all"], [])
