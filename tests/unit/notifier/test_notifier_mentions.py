"""Mention alerts (pure fan-out): each colleague named, on their channels, never the author."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from switchboard.notifier.fanout import AlertRequest, mention_targets, plan_fanout
from switchboard.notifier.model import PracticeConfig, StaffProfile


def test_a_mention_alerts_each_named_colleague_in_app_and_never_the_author():
    # covers I-NOTE-1
    targets = mention_targets(("u-2", "u-1", "u-2"), author="u-1")
    assert targets == (("u-2", "mention"),)
    request = AlertRequest(
        kind="mention",
        cause_id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        at=datetime(2026, 12, 7, 9, tzinfo=UTC),
        targets=targets,
    )
    plan = plan_fanout(request, PracticeConfig("demo"), {"u-2": StaffProfile("u-2")}, {})
    assert [(a.staff_id, a.channel, a.kind, a.why) for a in plan.alerts] == [
        ("u-2", "in_app", "mention", "mention")
    ]
    assert not plan.orphan
