"""Notification events (I-NOTIFY-1, X-AVAIL-1, X-SLA-1).

Two families:
- Staff and practice notification settings, as configuration events on Topic.CONFIG. Each
  event is a whole replacement of one setting (the newest wins), names who made it
  (`actor`) and when (`occurred_at`), so the settings at any past moment are a fold of the
  history. They share the practice's configuration key, so they apply in the order made.
- What the notifier did, on Topic.NOTIFICATIONS: every alert sent or failed, every
  escalation and orphan alert, with who and why. An in-app alert *is* its `AlertSent`
  event (channel `in_app`): the gateway's WebSocket relays those to the staff member.

None of these carry patient data: alerts name a conversation, a reason code and a link,
never a patient's name, number or message text.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from switchboard.events.envelope import Event
from switchboard.events.registry import register
from switchboard.events.topics import Topic

NotificationChannel = Literal["in_app", "email", "sms", "webhook"]
AlertKind = Literal["message", "orphan", "escalation", "mention"]
LinkTarget = Literal["inbox", "patient_page"]

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.@:-]*$"
_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NotificationConfigEvent(Event):
    """A change to a practice's notification configuration, made by `actor` (a user id)."""

    topic = Topic.CONFIG
    actor: str = Field(min_length=1, max_length=128)

    def partition_key(self) -> str:
        # The same key as every other configuration event of the practice: one order.
        return f"{self.practice_id}:config"


class WeeklyWindow(_Part):
    """A time window on one weekday (0 = Monday), local to the practice's timezone.
    `end` may be "24:00"; windows never cross midnight (use two)."""

    weekday: int = Field(ge=0, le=6)
    start: str = Field(pattern=_HHMM, examples=["09:00"])
    end: str = Field(pattern=_HHMM, examples=["17:00"])


class ChannelChoice(_Part):
    """One channel a staff member wants alerts on. `address` is the email address, the SMS
    number (E.164) or the id of one of the practice's webhook subscriptions; in-app needs
    none."""

    channel: NotificationChannel
    address: str | None = Field(default=None, max_length=320)


class SlaTarget(_Part):
    """Business minutes to first response for conversations of one routing reason."""

    reason: str = Field(min_length=1, max_length=64)
    minutes: int = Field(ge=1, le=60 * 24 * 30)


@register
class StaffAvailabilityChanged(NotificationConfigEvent):
    """A staff member's availability, replacing the previous one (X-AVAIL-1).

    Away while `out_of_office_from <= t < out_of_office_until` (either end may be open), or
    outside every `shifts` window (no windows = no shift schedule = always on shift).
    Alerts that would reach them go to `substitute_staff_id` when that one is available.
    """

    event_type: Literal["StaffAvailabilityChanged"] = "StaffAvailabilityChanged"
    version: Literal[1] = 1

    staff_id: str = Field(min_length=1, max_length=128, pattern=_ID)
    out_of_office_from: AwareDatetime | None = None
    out_of_office_until: AwareDatetime | None = None
    shifts: tuple[WeeklyWindow, ...] = ()
    substitute_staff_id: str | None = Field(default=None, max_length=128, pattern=_ID)


@register
class NotificationPreferencesChanged(NotificationConfigEvent):
    """The channels a staff member is alerted on, replacing the previous choice
    (I-NOTIFY-1). Without any such event a staff member gets in-app alerts only."""

    event_type: Literal["NotificationPreferencesChanged"] = "NotificationPreferencesChanged"
    version: Literal[1] = 1

    staff_id: str = Field(min_length=1, max_length=128, pattern=_ID)
    channels: tuple[ChannelChoice, ...] = ()


@register
class PracticeNotificationSettingsChanged(NotificationConfigEvent):
    """A practice's notification settings, replacing the previous ones.

    - `link_target`: whether an alert opens the inbox or the patient's page (I-NOTIFY-1).
    - `sla_minutes` / `sla_by_reason`: business minutes to first response; None = no timer
      (X-SLA-1). Counted only inside `business_hours` (local to `timezone`), never on
      `holidays`.
    - `front_line_staff_ids`: who gets orphan alerts (X-AVAIL-1) and escalations.
    - `escalation_reassign_to`: when set, an escalation asks to reassign the conversation.
    """

    event_type: Literal["PracticeNotificationSettingsChanged"] = (
        "PracticeNotificationSettingsChanged"
    )
    version: Literal[1] = 1

    link_target: LinkTarget = "inbox"
    sla_minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 30)
    sla_by_reason: tuple[SlaTarget, ...] = ()
    timezone: str = Field(default="UTC", min_length=1, max_length=64)
    business_hours: tuple[WeeklyWindow, ...] = ()
    holidays: tuple[date, ...] = ()
    front_line_staff_ids: tuple[str, ...] = ()
    escalation_reassign_to: str | None = Field(default=None, max_length=128)
    # Alerts for the same conversation and staff member within this window are coalesced.
    coalesce_seconds: int = Field(default=300, ge=0, le=86_400)


@register
class WebhookSubscriptionChanged(NotificationConfigEvent):
    """An outbound webhook endpoint of the practice (signed with `secret`, HMAC-SHA256).
    `url` None removes the subscription. Staff choose it by id as their webhook channel."""

    event_type: Literal["WebhookSubscriptionChanged"] = "WebhookSubscriptionChanged"
    version: Literal[1] = 1

    subscription_id: str = Field(min_length=1, max_length=64, pattern=_ID)
    url: str | None = Field(default=None, max_length=2000)
    secret: str | None = Field(default=None, min_length=16, max_length=256)


class NotificationEvent(Event):
    """Something the notifier did about one conversation."""

    topic = Topic.NOTIFICATIONS
    conversation_id: uuid.UUID

    def partition_key(self) -> str:
        return f"{self.practice_id}:{self.conversation_id}"


@register
class AlertSent(NotificationEvent):
    """One alert delivered to one staff member on one channel. `why` says why they got it:
    `subscribed`, `assignee`, `substitute` (for `substitute_for`), `front_line` (orphan) or
    `escalation`."""

    event_type: Literal["AlertSent"] = "AlertSent"
    version: Literal[1] = 1

    alert_id: uuid.UUID
    staff_id: str
    channel: NotificationChannel
    kind: AlertKind
    why: str
    substitute_for: str | None = None
    message_id: uuid.UUID | None = None
    routing_reason: str | None = None
    link: str
    attempts: int = 1
    sent_at: AwareDatetime


@register
class AlertFailed(NotificationEvent):
    """An alert that could not be delivered on one channel: `why` is a short code (e.g.
    `no_valid_address`, `webhook_http_503`, `smtp_error`). `final` = no more attempts."""

    event_type: Literal["AlertFailed"] = "AlertFailed"
    version: Literal[1] = 1

    alert_id: uuid.UUID
    staff_id: str
    channel: NotificationChannel
    kind: AlertKind
    why: str
    attempts: int = 0
    final: bool = True
    failed_at: AwareDatetime


@register
class ConversationEscalated(NotificationEvent):
    """A conversation's response timer ran out unanswered (X-SLA-1)."""

    event_type: Literal["ConversationEscalated"] = "ConversationEscalated"
    version: Literal[1] = 1

    timer_id: uuid.UUID
    started_at: AwareDatetime
    due_at: AwareDatetime
    target_minutes: int
    routing_reason: str | None = None
    # Who is alerted about the escalation, and the reassignment it asks for, if any.
    alerted_staff_ids: tuple[str, ...] = ()
    reassign_to: str | None = None
    escalated_at: AwareDatetime


@register
class OrphanAlertRaised(NotificationEvent):
    """A routed message reached nobody available (X-AVAIL-1): who it matched, and which
    front-line staff are alerted instead."""

    event_type: Literal["OrphanAlertRaised"] = "OrphanAlertRaised"
    version: Literal[1] = 1

    message_id: uuid.UUID | None = None
    matched_staff_ids: tuple[str, ...] = ()
    unavailable_staff_ids: tuple[str, ...] = ()
    front_line_staff_ids: tuple[str, ...] = ()
    raised_at: AwareDatetime
