"""Events for the reports tests (X-REPORT-1): builders, and a known history of conversations of
two practices (patient messages, routing decisions, replies sent and failed, automatic replies,
closes and reopens, escalations, notification settings)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from switchboard.events import (
    ConversationEscalated,
    ConversationStatusChanged,
    Event,
    MessageReceived,
    MessageRouted,
    PracticeNotificationSettingsChanged,
    ReplyFailed,
    ReplySent,
    SlaTarget,
    deterministic_id,
)

T0 = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)  # a Monday


def env(practice: str, name: str, at: datetime) -> dict[str, Any]:
    eid = deterministic_id("reports-test", practice, name)
    return {"event_id": eid, "correlation_id": eid, "practice_id": practice, "occurred_at": at}


def received(practice: str, cid: uuid.UUID, name: str, at: datetime, channel: str = "sms"):
    return MessageReceived(
        **env(practice, name, at),
        message_id=deterministic_id("reports-test", "mid", practice, name),
        conversation_id=cid,
        channel=channel,  # type: ignore[arg-type]
        sender="+12125550111",
        recipient="+12125550000",
        provider="test",
        provider_message_id=name,
        received_at=at,
        body="a message",
    )


def routed(practice: str, cid: uuid.UUID, name: str, at: datetime, reason: str, location=None):
    return MessageRouted(
        **env(practice, name, at),
        message_id=None,
        conversation_id=cid,
        reason=reason,
        reason_source="patient_pick",
        location_id=location,
        decided_at=at,
    )


def sent(practice: str, cid: uuid.UUID, name: str, at: datetime, actor: str):
    return ReplySent(
        **env(practice, name, at),
        conversation_id=cid,
        message_id=deterministic_id("reports-test", "out", practice, name),
        channel="sms",
        actor=actor,
        sent_at=at,
    )


def failed(practice: str, cid: uuid.UUID, name: str, at: datetime, actor: str):
    return ReplyFailed(
        **env(practice, name, at),
        conversation_id=cid,
        message_id=deterministic_id("reports-test", "out", practice, name),
        channel="sms",
        actor=actor,
        why="undeliverable",
        failed_at=at,
    )


def status(practice: str, cid: uuid.UUID, name: str, at: datetime, to: str, actor: str):
    return ConversationStatusChanged(
        **env(practice, name, at), conversation_id=cid, actor=actor, status=to
    )


def escalated(practice: str, cid: uuid.UUID, name: str, started: datetime, minutes: int):
    due = started + timedelta(minutes=minutes)
    return ConversationEscalated(
        **env(practice, name, due),
        conversation_id=cid,
        timer_id=deterministic_id("reports-test", "timer", practice, name),
        started_at=started,
        due_at=due,
        target_minutes=minutes,
        escalated_at=due,
    )


def settings(practice: str, name: str, at: datetime, tz: str, minutes: int | None, **by):
    return PracticeNotificationSettingsChanged(
        **env(practice, name, at),
        actor="admin",
        timezone=tz,
        sla_minutes=minutes,
        sla_by_reason=tuple(SlaTarget(reason=r, minutes=m) for r, m in by.items()),
    )


REASONS = ("refill", "billing", "appointment", "other")
LOCATIONS = ("loc-north", "loc-south", None)
STAFF = ("u-ann", "u-bob", "u-cy")
CHANNELS = ("sms", "email", "voicemail")


def history(seed: int = 7, conversations: int = 60, practice: str = "demo") -> list[Event]:
    """A practice's history over about three weeks from T0: each conversation opens with 1-3
    patient messages, is routed, maybe answered (some replies fail, some are automatic), maybe
    escalated, maybe closed (and sometimes reopened by a patient message or by staff)."""
    rnd = random.Random(seed)
    events: list[Event] = [
        settings(practice, "settings-0", T0 - timedelta(days=30), "UTC", 240),
        # the latest settings win: New York time, 2 h, refills 1 h
        settings(
            practice, "settings-1", T0 - timedelta(days=29), "America/New_York", 120, refill=60
        ),
    ]
    for i in range(conversations):
        cid = deterministic_id("reports-test", practice, "conv", str(i))
        n = f"{practice}-{i}"
        opened = T0 + timedelta(minutes=rnd.randrange(0, 21 * 24 * 60))
        channel = rnd.choice(CHANNELS)
        events.append(received(practice, cid, f"{n}-m0", opened, channel))
        for k in range(rnd.randrange(0, 3)):
            at = opened + timedelta(minutes=rnd.randrange(1, 90))
            events.append(received(practice, cid, f"{n}-m{k + 1}", at, channel))
        reason = rnd.choice(REASONS)
        events.append(
            routed(practice, cid, f"{n}-r0", opened + timedelta(seconds=2), "other", None)
        )
        events.append(
            routed(
                practice,
                cid,
                f"{n}-r1",
                opened + timedelta(seconds=5),
                reason,
                rnd.choice(LOCATIONS),
            )
        )
        if rnd.random() < 0.3:  # an automatic reply first: not a staff response
            events.append(sent(practice, cid, f"{n}-auto", opened + timedelta(seconds=3), "system"))
        answered = rnd.random() < 0.8
        first = opened + timedelta(minutes=rnd.randrange(1, 600))
        if rnd.random() < 0.2:  # a reply that failed before the one that got through
            events.append(
                failed(practice, cid, f"{n}-f", first - timedelta(seconds=30), rnd.choice(STAFF))
            )
        if answered:
            events.append(sent(practice, cid, f"{n}-s0", first, rnd.choice(STAFF)))
            if rnd.random() < 0.4:
                later = first + timedelta(minutes=rnd.randrange(1, 300))
                events.append(sent(practice, cid, f"{n}-s1", later, rnd.choice(STAFF)))
        target = 60 if reason == "refill" else 120
        if (not answered or first > opened + timedelta(minutes=target)) and rnd.random() < 0.9:
            events.append(
                escalated(practice, cid, f"{n}-esc", opened + timedelta(seconds=5), target)
            )
        if answered and rnd.random() < 0.7:
            closed = first + timedelta(minutes=rnd.randrange(1, 2000))
            events.append(status(practice, cid, f"{n}-c0", closed, "closed", rnd.choice(STAFF)))
            roll = rnd.random()
            if roll < 0.15:  # the patient writes again: open
                events.append(
                    received(practice, cid, f"{n}-again", closed + timedelta(hours=2), channel)
                )
            elif roll < 0.25:  # reopened by staff, closed again later
                events.append(
                    status(practice, cid, f"{n}-o1", closed + timedelta(hours=1), "open", "u-ann")
                )
                events.append(
                    status(practice, cid, f"{n}-c1", closed + timedelta(hours=3), "closed", "u-bob")
                )
    return events
