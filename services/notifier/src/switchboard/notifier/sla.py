"""Response timers (X-SLA-1): when a conversation's first response is due. Pure.

A timer starts at the first routed patient message of a conversation that has no running
timer, and is due the practice's target (per reason when set) of business minutes later.
Later messages of the same burst do not move it: the clock runs from the oldest unanswered
message. A reply sent (ReplySent) stops it; when it runs out, the conversation escalates.

A snoozed conversation's timer pauses (I-SNOOZE-1): from the snooze until it wakes (its
time, the patient writing, or staff reopening it) the timer is `paused`, and it is due that
much later when it runs again (`resumed_due`). The pause is counted in wall-clock time, so a
snooze over a night moves the deadline by the night, never earlier than before.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from switchboard.events import MessageRouted, deterministic_id
from switchboard.notifier.model import PracticeConfig


@dataclass(frozen=True)
class TimerPlan:
    timer_id: uuid.UUID
    conversation_id: uuid.UUID
    started_at: datetime
    due_at: datetime
    target_minutes: int


def plan_timer(routed: MessageRouted, config: PracticeConfig, running: bool) -> TimerPlan | None:
    """The timer a routed message starts, if any: only a new patient message (not a
    re-route) starts one, only when the practice has a target and none is running."""
    if running or routed.trigger != "message":
        return None
    target = config.sla_target(routed.reason)
    if target is None:
        return None
    try:
        due = config.calendar.add_business_minutes(routed.decided_at, target)
    except ValueError:
        return None  # a calendar with no open time: nothing can ever be due
    return TimerPlan(
        timer_id=deterministic_id("sla-timer", routed.event_id),
        conversation_id=routed.conversation_id,
        started_at=routed.decided_at,
        due_at=due,
        target_minutes=target,
    )


def reply_stops_timer(timer_started_at: datetime, reply_sent_at: datetime) -> bool:
    """A reply answers the messages before it; one sent before the timer started does not."""
    return reply_sent_at >= timer_started_at


def resumed_due(due_at: datetime, paused_at: datetime, resumed_at: datetime) -> datetime:
    """When a paused timer is due once it runs again: later by as long as it was paused."""
    return due_at + max(resumed_at - paused_at, timedelta(0))
