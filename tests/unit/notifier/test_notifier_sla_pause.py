"""A response timer paused while its conversation is snoozed (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from switchboard.notifier.sla import resumed_due

T0 = datetime(2026, 12, 7, 9, tzinfo=UTC)


def test_a_paused_timer_is_due_later_by_the_pause():
    # covers I-SNOOZE-1, X-SLA-1
    due = T0 + timedelta(minutes=30)
    assert resumed_due(due, T0 + timedelta(minutes=10), T0 + timedelta(hours=2)) == due + timedelta(
        minutes=110
    )


def test_a_resume_before_the_pause_never_makes_it_due_earlier():
    # covers I-SNOOZE-1
    due = T0 + timedelta(minutes=30)
    assert resumed_due(due, T0 + timedelta(minutes=10), T0) == due
