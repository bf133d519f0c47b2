"""Pure: the notifier's internal API (`GET /internal/practices/{p}/notification-settings`,
`GET /internal/practices/{p}/webhooks`)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from switchboard.events.notifications import LinkTarget, SlaTarget, WeeklyWindow


class NotificationSettings(BaseModel):
    """A practice's notification settings (the newest PracticeNotificationSettingsChanged the
    notifier folded, less its envelope), in the shape of the gateway's
    `PUT /api/notify/practice-settings` body; `configured` is false, with the defaults, when
    the practice never set any."""

    link_target: LinkTarget
    sla_minutes: int | None
    sla_by_reason: list[SlaTarget]
    timezone: str
    business_hours: list[WeeklyWindow]
    holidays: list[date]
    front_line_staff_ids: list[str]
    escalation_reassign_to: str | None
    coalesce_seconds: int
    configured: bool


class WebhookSubscription(BaseModel):
    """One of a practice's outbound webhook subscriptions: its id and URL, never its secret
    (shown once, when it was set)."""

    subscription_id: str
    url: str


class WebhookList(BaseModel):
    """A practice's current webhook subscriptions (removed ones left out), by id."""

    webhooks: list[WebhookSubscription]
