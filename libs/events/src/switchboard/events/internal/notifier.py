"""Pure: the notifier's internal API: notification settings, alert webhooks
(`GET /internal/practices/{p}/webhooks`), and event webhooks' endpoints and delivery log
(`/internal/practices/{p}/event-webhooks...`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from switchboard.events.internal.common import IsoDateTime
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


# --- event webhooks (issue 16, ADR 0022) -----------------------------------------------------

EndpointStatus = Literal["active", "paused"]
DeliveryStatus = Literal["pending", "sending", "delivered"]


class EventWebhookEndpointIn(BaseModel):
    """A practice's event webhook endpoint, as an admin sets it: where to, and which public
    event types (`public.conversation.assigned`, ...). https only in production."""

    url: str = Field(min_length=1, max_length=2000)
    event_types: list[str] = Field(min_length=1, max_length=50)
    description: str = Field(default="", max_length=200)


class EventWebhookEndpoint(BaseModel):
    """An endpoint as admins see it (never its secret)."""

    endpoint_id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    status: EndpointStatus
    paused_reason: str | None
    consecutive_failures: int
    created_at: IsoDateTime
    updated_at: IsoDateTime


class EventWebhookEndpointCreated(EventWebhookEndpoint):
    """A new endpoint, or one whose secret was rotated: the signing secret
    (`whsec_...`, Standard Webhooks) is shown this once."""

    secret: str


class EventWebhookEndpoints(BaseModel):
    endpoints: list[EventWebhookEndpoint]


class EventWebhookDelivery(BaseModel):
    """One public event to one endpoint: its state, and its attempts (newest last). No
    payload: the log shows what was sent when, not what it said."""

    delivery_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    conversation_id: uuid.UUID
    occurred_at: IsoDateTime
    status: DeliveryStatus
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: IsoDateTime | None
    delivered_at: IsoDateTime | None
    redelivery: bool


class EventWebhookDeliveries(BaseModel):
    deliveries: list[EventWebhookDelivery]


class EventWebhookRedeliver(BaseModel):
    """Send again every stored public event of the endpoint's types since `since`."""

    since: datetime


class EventWebhookRedelivered(BaseModel):
    queued: int
