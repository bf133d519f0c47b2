"""The reports read model's fold (pure): what a conversation's facts are, and that any order
of the events, in any batches, with repeats, gives the same rows."""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from report_events import (
    T0,
    escalated,
    failed,
    history,
    received,
    routed,
    sent,
    status,
)

from switchboard.events import deterministic_id
from switchboard.inbox_projection.reports_model import Facts, PracticeSettings, ReportFold

P = "demo"
CID = deterministic_id("fold-test", "c")


def fold_in_batches(events, batches: list[int]) -> tuple[dict, dict, dict]:
    """Apply `events` batch by batch as the handler does: each batch's fold joined with what
    is stored (here a dict)."""
    stored: dict = {}
    practices: dict = {}
    messages: dict = {}
    i = 0
    for size in [*batches, len(events)]:
        chunk = events[i : i + max(1, size)]
        i += len(chunk)
        f = ReportFold()
        f.apply(chunk)
        facts, ps = f.merge_into(stored, practices)
        stored.update({x.conversation_id: x for x in facts})
        practices.update({p.practice_id: p for p in ps})
        messages.update(f.messages)
        if i >= len(events):
            break
    return (
        {c: f.row() for c, f in stored.items()},
        {p: s.row() for p, s in practices.items()},
        messages,
    )


def one(events) -> dict:
    rows, _, _ = fold_in_batches(events, [])
    return rows[CID]


def test_first_staff_response_is_the_first_reply_sent_by_staff():
    # covers X-REPORT-2
    row = one(
        [
            received(P, CID, "m0", T0),
            sent(P, CID, "auto", T0 + timedelta(seconds=2), "system"),
            failed(P, CID, "f", T0 + timedelta(minutes=3), "u-ann"),
            sent(P, CID, "s1", T0 + timedelta(minutes=20), "u-bob"),
            sent(P, CID, "s0", T0 + timedelta(minutes=9), "u-cy"),
        ]
    )
    assert row["opened_at"] == T0
    assert row["first_response_at"] == T0 + timedelta(minutes=9)
    assert row["responder"] == "u-cy"
    assert row["last_response_at"] == T0 + timedelta(minutes=20)


def test_close_time_is_the_close_that_left_it_closed():
    # covers X-REPORT-3
    closed = [
        received(P, CID, "m0", T0),
        status(P, CID, "c0", T0 + timedelta(hours=1), "closed", "u-ann"),
    ]
    assert one(closed)["closed_at"] == T0 + timedelta(hours=1)
    assert one(closed)["closed_by"] == "u-ann"
    reopened = [*closed, received(P, CID, "m1", T0 + timedelta(hours=2))]
    assert one(reopened)["closed_at"] is None and one(reopened)["status"] == "open"
    again = [*reopened, status(P, CID, "c1", T0 + timedelta(hours=5), "closed", "u-bob")]
    assert one(again)["closed_at"] == T0 + timedelta(hours=5)
    assert one(again)["closed_by"] == "u-bob"


def test_reason_and_location_are_the_latest_decisions():
    row = one(
        [
            routed(P, CID, "r1", T0 + timedelta(seconds=5), "refill", "loc-north"),
            received(P, CID, "m0", T0, "email"),
            routed(P, CID, "r0", T0 + timedelta(seconds=1), "other"),
        ]
    )
    assert (row["reason"], row["location_id"], row["channel"]) == ("refill", "loc-north", "email")


def test_the_earliest_escalation_is_kept():
    # covers X-REPORT-5
    row = one(
        [
            escalated(P, CID, "e1", T0 + timedelta(hours=3), 60),
            escalated(P, CID, "e0", T0 + timedelta(seconds=5), 60),
        ]
    )
    assert row["escalation_started_at"] == T0 + timedelta(seconds=5)


def test_another_practices_event_never_changes_a_conversation():
    # covers T-1
    row = one(
        [
            received(P, CID, "m0", T0),
            status("other", CID, "c-other", T0 + timedelta(hours=1), "closed", "u-x"),
            sent("other", CID, "s-other", T0 + timedelta(minutes=1), "u-x"),
        ]
    )
    assert row["status"] == "open" and row["first_response_at"] is None


def test_the_latest_settings_win():
    _, practices, _ = fold_in_batches(history(conversations=1), [])
    assert practices[P]["timezone"] == "America/New_York"
    assert practices[P]["sla_minutes"] == 120 and practices[P]["sla_by_reason"] == {"refill": 60}


def test_settings_merge_is_order_free():
    a = PracticeSettings(P, T0, deterministic_id("a"), "UTC", 10)
    b = PracticeSettings(P, T0 + timedelta(1), deterministic_id("b"), "Europe/Paris", 20)
    assert a.merge(b) == b.merge(a) == b


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    batches=st.lists(st.integers(1, 40), max_size=8),
    repeats=st.integers(0, 30),
)
def test_any_order_any_batches_with_repeats_give_the_same_rows(seed, batches, repeats):
    # covers X-REPORT-1, X-REPLAY-1
    events = history(seed=seed % 5, conversations=25)
    expected = fold_in_batches(events, [])
    rnd = random.Random(seed)
    shuffled = [*events, *rnd.sample(events, min(repeats, len(events)))]
    rnd.shuffle(shuffled)
    assert fold_in_batches(shuffled, batches) == expected


def test_rows_round_trip():
    events = history(conversations=30)
    rows, _, _ = fold_in_batches(events, [])
    for row in rows.values():
        assert Facts.from_row(row).row() == row
