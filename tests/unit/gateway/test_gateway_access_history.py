"""Staff access over time (pure): who could see a view at T with the roles and policies of
that moment, the viewer's own access then, and which accesses the gateway publishes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from switchboard.events import StaffAccessSet
from switchboard.gateway.access import who_could_see
from switchboard.gateway.access_history import (
    AccessRecord,
    access_at,
    access_event_id,
    audits,
    changes,
    principal_at,
    principals_at,
)
from switchboard.gateway.auth import Principal
from switchboard.inbox_projection.model import Fold

T0 = datetime(2026, 6, 5, 9, 0, tzinfo=UTC)
FRIDAY = T0 + timedelta(hours=8)  # 17:00
P = "demo"


def rec(staff: str, role: str, policies: tuple[str, ...], start: datetime, end=None):
    eid = access_event_id(P, staff, role, policies, None)
    return AccessRecord(staff, role, frozenset(policies), eid, start, end)


def who(staff: str, role: str = "staff", *policies: str) -> Principal:
    return Principal(staff, P, role, frozenset(policies))


def test_who_could_see_uses_the_policies_of_that_moment():
    # covers X-ASOF-1, X-ASOF-1b
    promoted = T0 + timedelta(days=3)
    history = [
        rec("u-jo", "staff", (), T0, promoted),
        rec("u-jo", "staff", ("inbox.full_patient",), promoted),
    ]
    today = [who("u-jo", "staff", "inbox.full_patient"), who("u-admin", "practice_admin")]
    then = principals_at(today, history, FRIDAY)
    assert who_could_see("all", then, []) == []
    assert who_could_see("all", today, []) == ["u-jo"]
    # shared inboxes: the admin role then, not a full-patient policy granted later
    assert who_could_see("inbox:unassigned", then, []) == ["u-admin"]
    assert who_could_see("inbox:unassigned", today, []) == ["u-admin", "u-jo"]


def test_before_history_began_the_first_record_stands_and_without_one_today():
    # covers X-ASOF-1b
    first = rec("u-jo", "staff", ("inbox.care_team",), T0)
    assert access_at("u-jo", [first], T0 - timedelta(days=30)) == first
    assert access_at("u-jo", [first], T0 + timedelta(days=30)) == first
    nobody = who("u-new", "staff", "inbox.care_team")
    assert principal_at(nobody, [first], T0) == nobody


def test_a_viewer_who_gained_a_view_later_does_not_read_back_unless_auditing():
    # covers X-ASOF-1c
    gained = T0 + timedelta(days=3)
    history = [
        rec("u-ct", "staff", (), T0, gained),
        rec("u-ct", "staff", ("inbox.care_team",), gained),
    ]
    today = who("u-ct", "staff", "inbox.care_team")
    assert principal_at(today, history, FRIDAY).policies == frozenset()
    assert not audits(today)
    assert audits(who("u-admin", "practice_admin"))
    assert audits(who("u-api", "api_client", "inbox.api"))


def test_only_changed_accesses_are_published_each_following_the_last():
    # covers X-ASOF-1a
    last = rec("u-jo", "staff", (), T0)
    published = {(P, "u-jo"): last, (P, "u-same"): rec("u-same", "staff", (), T0)}
    configured = [
        who("u-jo", "staff", "inbox.care_team"),
        who("u-same", "staff"),
        who("u-new", "practice_admin"),
    ]
    todo = changes(configured, published)
    assert [(c.principal.user_id, c.follows) for c in todo] == [
        ("u-jo", last.event_id),
        ("u-new", None),
    ]
    # the same change is the same event (a retry, a second gateway); going back is new
    again = changes(configured, published)
    assert [c.event_id for c in again] == [c.event_id for c in todo]
    back = access_event_id(P, "u-jo", "staff", (), todo[0].event_id)
    assert back != last.event_id


def _access(name: str, staff: str, role: str, policies: tuple[str, ...], at: datetime):
    eid = uuid.uuid5(uuid.NAMESPACE_URL, name)
    return StaffAccessSet(
        event_id=eid,
        correlation_id=eid,
        occurred_at=at,
        practice_id=P,
        actor="configuration",
        staff_id=staff,
        role=role,
        policies=policies,
    )


def test_the_inbox_fold_keeps_each_access_as_an_interval():
    # covers X-ASOF-1a
    fold = Fold()
    fold.apply(
        [
            _access("a1", "u-jo", "staff", (), T0),
            _access("a2", "u-jo", "staff", ("inbox.full_patient",), FRIDAY),
        ]
    )
    rows = [(r["role"], r["policies"], r["valid_from"], r["valid_to"]) for r in fold.access_open]
    assert rows == [
        ("staff", [], T0, FRIDAY),
        ("staff", ["inbox.full_patient"], FRIDAY, None),
    ]
    # an interval opened by an earlier batch is closed by the write
    assert fold.access_close == [{"p": P, "s": "u-jo", "t": T0}]
    later = Fold()
    later.apply([_access("a3", "u-jo", "no_inbox", (), FRIDAY + timedelta(days=1))])
    assert later.access_close == [{"p": P, "s": "u-jo", "t": FRIDAY + timedelta(days=1)}]
