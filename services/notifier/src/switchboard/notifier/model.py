"""The notifier's view of a practice and its staff, built from configuration events. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from switchboard.events import (
    ChannelChoice,
    NotificationPreferencesChanged,
    PracticeNotificationSettingsChanged,
    StaffAvailabilityChanged,
)
from switchboard.notifier.business_hours import BusinessCalendar
from switchboard.rules.availability import Availability as StaffSchedule
from switchboard.rules.availability import Shift

DEFAULT_CHANNELS: tuple[ChannelChoice, ...] = (ChannelChoice(channel="in_app"),)

_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def valid_email(address: str | None) -> bool:
    return bool(address) and len(address or "") <= 320 and bool(_EMAIL.match(address or ""))


def valid_sms_number(address: str | None) -> bool:
    return bool(address) and bool(_E164.match(address or ""))


@dataclass(frozen=True)
class Webhook:
    subscription_id: str
    url: str
    secret: str


@dataclass(frozen=True)
class PracticeConfig:
    practice_id: str
    link_target: str = "inbox"
    sla_minutes: int | None = None
    sla_by_reason: dict[str, int] = field(default_factory=dict)
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
    front_line: tuple[str, ...] = ()
    escalation_reassign_to: str | None = None
    coalesce_seconds: int = 300
    webhooks: dict[str, Webhook] = field(default_factory=dict)

    @classmethod
    def from_event(
        cls,
        practice_id: str,
        event: PracticeNotificationSettingsChanged | None,
        webhooks: dict[str, Webhook] | None = None,
    ) -> PracticeConfig:
        hooks = dict(webhooks or {})
        if event is None:
            return cls(practice_id=practice_id, webhooks=hooks)
        return cls(
            practice_id=practice_id,
            link_target=event.link_target,
            sla_minutes=event.sla_minutes,
            sla_by_reason={t.reason: t.minutes for t in event.sla_by_reason},
            calendar=BusinessCalendar.build(
                event.timezone,
                [(w.weekday, w.start, w.end) for w in event.business_hours],
                event.holidays,
            ),
            front_line=tuple(dict.fromkeys(event.front_line_staff_ids)),
            escalation_reassign_to=event.escalation_reassign_to,
            coalesce_seconds=event.coalesce_seconds,
            webhooks=hooks,
        )

    def sla_target(self, reason: str | None) -> int | None:
        """Business minutes to first response for a conversation of `reason`, or None."""
        if reason is not None and reason in self.sla_by_reason:
            return self.sla_by_reason[reason]
        return self.sla_minutes

    def link(self, conversation_id: object, patient_id: str | None) -> str:
        """Where an alert opens: the inbox, or the patient's communication page
        (I-NOTIFY-1). Without a linked patient the inbox is the only place to go."""
        if self.link_target == "patient_page" and patient_id:
            return f"/patients/{patient_id}/communications?conversation={conversation_id}"
        return f"/inbox/conversations/{conversation_id}"


@dataclass(frozen=True)
class Availability:
    """A staff member's availability in the practice's timezone (the rule the router's
    auto-assignment applies too, X-AVAIL-1), and who takes their alerts while away."""

    schedule: StaffSchedule = field(default_factory=StaffSchedule)
    timezone: str = "UTC"
    substitute: str | None = None

    @classmethod
    def from_event(cls, event: StaffAvailabilityChanged, timezone: str) -> Availability:
        return cls(
            schedule=StaffSchedule(
                event.out_of_office_from,
                event.out_of_office_until,
                tuple(Shift(w.weekday, w.start, w.end) for w in event.shifts),
            ),
            timezone=timezone,
            substitute=event.substitute_staff_id,
        )

    def available(self, at: datetime) -> bool:
        return self.schedule.available(at, self.timezone)


@dataclass(frozen=True)
class StaffProfile:
    staff_id: str
    channels: tuple[ChannelChoice, ...] = DEFAULT_CHANNELS
    availability: Availability = field(default_factory=Availability)

    @classmethod
    def build(
        cls,
        staff_id: str,
        preferences: NotificationPreferencesChanged | None,
        availability: StaffAvailabilityChanged | None,
        timezone: str,
    ) -> StaffProfile:
        return cls(
            staff_id=staff_id,
            channels=preferences.channels if preferences is not None else DEFAULT_CHANNELS,
            availability=(
                Availability.from_event(availability, timezone)
                if availability is not None
                else Availability()
            ),
        )
