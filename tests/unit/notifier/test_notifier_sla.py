"""Response timers (X-SLA-1): which message starts one, when it is due, what stops it."""

import uuid
from datetime import UTC, date, datetime

from switchboard.events import MessageRouted, PracticeNotificationSettingsChanged, WeeklyWindow
from switchboard.notifier.model import PracticeConfig
from switchboard.notifier.sla import plan_timer, reply_stops_timer

THURSDAY_1655 = datetime(2026, 7, 2, 20, 55, tzinfo=UTC)  # Thursday 16:55 in New York


def routed(trigger="message", reason="refills", at=THURSDAY_1655) -> MessageRouted:
    return MessageRouted(
        event_id=uuid.uuid4(),
        occurred_at=at,
        practice_id="demo",
        correlation_id=uuid.uuid4(),
        message_id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        trigger=trigger,
        reason=reason,
        reason_source="none",
        decided_at=at,
    )


def config(**kw) -> PracticeConfig:
    e = PracticeNotificationSettingsChanged(
        event_id=uuid.uuid4(),
        occurred_at=THURSDAY_1655,
        practice_id="demo",
        correlation_id=uuid.uuid4(),
        actor="u-admin",
        timezone="America/New_York",
        business_hours=tuple(WeeklyWindow(weekday=d, start="09:00", end="17:00") for d in range(5)),
        holidays=(date(2026, 7, 3),),
        **kw,
    )
    return PracticeConfig.from_event("demo", e)


# covers X-SLA-1
def test_timer_due_in_business_minutes_across_holiday_and_weekend():
    plan = plan_timer(routed(), config(sla_minutes=30), running=False)
    assert plan is not None
    # 5 minutes on Thursday, Friday 3 July is a holiday, weekend: 25 more on Monday.
    assert plan.due_at == datetime(2026, 7, 6, 13, 25, tzinfo=UTC)  # 09:25 EDT
    assert plan.target_minutes == 30 and plan.started_at == THURSDAY_1655


# covers X-SLA-1
def test_no_target_no_timer_and_a_running_timer_is_not_moved():
    assert plan_timer(routed(), config(), running=False) is None
    assert plan_timer(routed(), config(sla_minutes=30), running=True) is None


# covers X-SLA-1
def test_reroute_starts_no_timer():
    assert plan_timer(routed(trigger="reroute"), config(sla_minutes=30), running=False) is None


# covers X-SLA-1
def test_timer_id_is_deterministic_for_a_redelivered_decision():
    r = routed()
    a = plan_timer(r, config(sla_minutes=30), running=False)
    b = plan_timer(r, config(sla_minutes=30), running=False)
    assert a is not None and b is not None and a.timer_id == b.timer_id


# covers X-SLA-1
def test_only_a_reply_after_the_message_stops_the_timer():
    assert reply_stops_timer(THURSDAY_1655, THURSDAY_1655)
    assert not reply_stops_timer(THURSDAY_1655, datetime(2026, 7, 2, 20, 0, tzinfo=UTC))
