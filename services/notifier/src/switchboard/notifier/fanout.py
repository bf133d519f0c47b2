"""Fan-out planning (I-NOTIFY-1, X-AVAIL-1): who gets which alert on which channel. Pure.

Given what happened (a routed message or an escalation), the practice's configuration,
the staff profiles and when each staff member was last alerted about the conversation, the
planner says which alerts to send, which channel choices fail for want of a valid address,
who was skipped as away (and which substitute stands in), and whether the message reached
nobody available, which makes it an orphan for the practice's front-line staff.

Coalescing: a staff member alerted about a conversation less than the practice's
`coalesce_seconds` ago is not alerted again for it (a burst of ten messages is one alert).
Escalations coalesce separately from new-message alerts.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from switchboard.events import deterministic_id
from switchboard.notifier.model import (
    PracticeConfig,
    StaffProfile,
    valid_email,
    valid_sms_number,
)

MAX_SUBSTITUTE_HOPS = 3


def coalesce_key(kind: str) -> str:
    """New-message and orphan alerts say the same thing; an escalation or a mention says
    something else."""
    return kind if kind in ("escalation", "mention") else "message"


@dataclass(frozen=True)
class AlertRequest:
    """Something to alert staff about, in one conversation."""

    kind: str  # message | escalation | mention
    cause_id: uuid.UUID  # the event (or timer) that causes the alerts: alert ids derive from it
    conversation_id: uuid.UUID
    at: datetime
    # Who should hear of it, in order, with why: ("u-1", "assignee"), ("u-2", "subscribed").
    targets: tuple[tuple[str, str], ...]
    message_id: uuid.UUID | None = None
    patient_id: str | None = None
    routing_reason: str | None = None


@dataclass(frozen=True)
class PlannedAlert:
    alert_id: uuid.UUID
    staff_id: str
    channel: str
    address: str | None
    kind: str
    why: str
    substitute_for: str | None
    link: str


@dataclass(frozen=True)
class PlannedFailure:
    alert_id: uuid.UUID
    staff_id: str
    channel: str
    kind: str
    why: str


@dataclass
class FanoutPlan:
    alerts: list[PlannedAlert] = field(default_factory=list)
    failures: list[PlannedFailure] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    coalesced: list[str] = field(default_factory=list)
    # (staff_id, coalesce key) alerted now: the caller records `at` for them.
    alerted: list[tuple[str, str]] = field(default_factory=list)
    orphan: bool = False
    front_line_alerted: list[str] = field(default_factory=list)


def alert_id(cause_id: uuid.UUID, staff_id: str, channel: str, kind: str) -> uuid.UUID:
    return deterministic_id("alert", cause_id, staff_id, channel, kind)


def _channel_plan(
    request: AlertRequest,
    kind: str,
    profile: StaffProfile,
    why: str,
    substitute_for: str | None,
    config: PracticeConfig,
) -> tuple[list[PlannedAlert], list[PlannedFailure]]:
    alerts: list[PlannedAlert] = []
    failures: list[PlannedFailure] = []
    link = config.link(request.conversation_id, request.patient_id)
    seen: set[tuple[str, str | None]] = set()
    for choice in profile.channels:
        key = (choice.channel, choice.address)
        if key in seen:
            continue
        seen.add(key)
        aid = alert_id(request.cause_id, profile.staff_id, choice.channel, kind)
        if choice.channel in ("email", "sms", "webhook"):
            aid = deterministic_id(aid, choice.address or "")
        ok = (
            choice.channel == "in_app"
            or (choice.channel == "email" and valid_email(choice.address))
            or (choice.channel == "sms" and valid_sms_number(choice.address))
            or (choice.channel == "webhook" and (choice.address or "") in config.webhooks)
        )
        if not ok:
            failures.append(
                PlannedFailure(aid, profile.staff_id, choice.channel, kind, "no_valid_address")
            )
            continue
        alerts.append(
            PlannedAlert(
                alert_id=aid,
                staff_id=profile.staff_id,
                channel=choice.channel,
                address=None if choice.channel == "in_app" else choice.address,
                kind=kind,
                why=why,
                substitute_for=substitute_for,
                link=link,
            )
        )
    return alerts, failures


def _resolve(
    staff_id: str, at: datetime, profiles: Mapping[str, StaffProfile]
) -> tuple[str | None, bool]:
    """(who stands in for `staff_id` at `at`, whether that is a substitute). Follows a chain of
    substitutes a few hops, never in a circle; None when nobody in it is available."""
    seen = {staff_id}
    current = profiles.get(staff_id, StaffProfile(staff_id))
    if current.availability.available(at):
        return staff_id, False
    for _ in range(MAX_SUBSTITUTE_HOPS):
        sub = current.availability.substitute
        if sub is None or sub in seen:
            return None, False
        seen.add(sub)
        current = profiles.get(sub, StaffProfile(sub))
        if current.availability.available(at):
            return sub, True
    return None, False


def _alert_targets(
    request: AlertRequest,
    kind: str,
    targets: tuple[tuple[str, str], ...],
    config: PracticeConfig,
    profiles: Mapping[str, StaffProfile],
    last_alerted: Mapping[tuple[str, str], datetime],
    plan: FanoutPlan,
    done: set[str],
) -> list[str]:
    """Plan alerts for `targets`; returns the staff ids who were reached (alerted now on at
    least one channel, or alerted recently enough to be coalesced)."""
    reached: list[str] = []
    window = timedelta(seconds=config.coalesce_seconds)
    ckey = coalesce_key(kind)
    for staff_id, why in targets:
        who, is_substitute = _resolve(staff_id, request.at, profiles)
        if (who is None or is_substitute) and staff_id not in plan.unavailable:
            plan.unavailable.append(staff_id)
        if who is None:
            continue
        if who in done:
            reached.append(who)
            continue
        done.add(who)
        last = last_alerted.get((who, ckey))
        if last is not None and request.at - last < window:
            plan.coalesced.append(who)
            reached.append(who)
            continue
        profile = profiles.get(who, StaffProfile(who))
        alerts, failures = _channel_plan(
            request,
            kind,
            profile,
            "substitute" if is_substitute else why,
            staff_id if is_substitute else None,
            config,
        )
        plan.alerts.extend(alerts)
        plan.failures.extend(failures)
        if alerts:
            plan.alerted.append((who, ckey))
            reached.append(who)
    return reached


def plan_fanout(
    request: AlertRequest,
    config: PracticeConfig,
    profiles: Mapping[str, StaffProfile],
    last_alerted: Mapping[tuple[str, str], datetime],
) -> FanoutPlan:
    """Plan the alerts for one request. `last_alerted` maps (staff_id, coalesce key) to the
    last alert about this conversation."""
    plan = FanoutPlan()
    done: set[str] = set()
    reached = _alert_targets(
        request, request.kind, request.targets, config, profiles, last_alerted, plan, done
    )
    if request.kind == "message" and not reached:
        # Nobody available was reached (X-AVAIL-1): the front line hears of it.
        plan.orphan = True
        front = tuple((s, "front_line") for s in config.front_line)
        plan.front_line_alerted = _alert_targets(
            request, "orphan", front, config, profiles, last_alerted, plan, done
        )
    return plan


def message_targets(
    recipients: tuple[str, ...], assignee: str | None
) -> tuple[tuple[str, str], ...]:
    """The assignee first, then the subscribed recipients, each once."""
    out: dict[str, str] = {}
    if assignee:
        out[assignee] = "assignee"
    for r in recipients:
        out.setdefault(r, "subscribed")
    return tuple(out.items())


def mention_targets(mentions: tuple[str, ...], author: str) -> tuple[tuple[str, str], ...]:
    """Who hears of a note (I-NOTE-1): each colleague it @mentions, never its author."""
    return tuple((s, "mention") for s in dict.fromkeys(mentions) if s != author)


def escalation_targets(
    recipients: tuple[str, ...], assignee: str | None, config: PracticeConfig
) -> tuple[tuple[str, str], ...]:
    """Who hears of an escalation: whoever the conversation was for, and the front line."""
    out = dict(message_targets(recipients, assignee))
    for s in config.front_line:
        out.setdefault(s, "front_line")
    return tuple((s, "escalation" if why != "front_line" else why) for s, why in out.items())
