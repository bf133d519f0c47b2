"""The notifier's internal API, for the gateway (no browser reaches it; the gateway
authenticates staff and scopes every call to their practice, T-1). Served on the internal
listener only, to callers with a token (switchboard.platform.internal_api).

    GET /internal/practices/{p}/notification-settings
        the practice's current notification settings (the newest
        PracticeNotificationSettingsChanged the notifier folded), in the shape of the gateway's
        `PUT /api/notify/practice-settings` body, plus `"configured"`: false (and the defaults)
        when the practice never set any.
    GET /internal/practices/{p}/webhooks
        the practice's current webhook subscriptions: ids and URLs, never the secrets.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from sqlalchemy import select

from switchboard.events import PracticeNotificationSettingsChanged
from switchboard.events.internal.notifier import (
    NotificationSettings,
    WebhookList,
    WebhookSubscription,
)
from switchboard.notifier import storage

# The settings a practice sets (the event's fields less its envelope), in the body's order.
FIELDS = (
    "link_target",
    "sla_minutes",
    "sla_by_reason",
    "timezone",
    "business_hours",
    "holidays",
    "front_line_staff_ids",
    "escalation_reassign_to",
    "coalesce_seconds",
)


router = APIRouter(prefix="/internal/practices/{practice}")
Practice = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]


def settings_body(event: PracticeNotificationSettingsChanged | None) -> dict[str, Any]:
    """The settings as the gateway's PracticeSettingsIn takes them; defaults when None."""
    source = event or PracticeNotificationSettingsChanged.model_construct()  # the defaults
    body = source.model_dump(mode="json", include=set(FIELDS))
    out = {name: body[name] for name in FIELDS}
    out["configured"] = event is not None
    return out


@router.get("/notification-settings", response_model=NotificationSettings)
async def notification_settings(practice: Practice, request: Request) -> dict[str, Any]:
    ps = storage.practice_settings
    async with request.app.state.runtime.sessionmaker() as session:
        doc = (
            await session.execute(select(ps.c.doc).where(ps.c.practice_id == practice))
        ).scalar_one_or_none()
    event = None if doc is None else PracticeNotificationSettingsChanged.model_validate(doc)
    return settings_body(event)


@router.get("/webhooks", response_model=WebhookList)
async def webhooks(practice: Practice, request: Request) -> WebhookList:
    wh = storage.webhooks
    async with request.app.state.runtime.sessionmaker() as session:
        rows = await session.execute(
            select(wh.c.subscription_id, wh.c.url)
            .where(wh.c.practice_id == practice, wh.c.url.is_not(None))
            .order_by(wh.c.subscription_id)
        )
    return WebhookList(
        webhooks=[WebhookSubscription(subscription_id=r.subscription_id, url=r.url) for r in rows]
    )
