"""The notifier's internal API against the real Kafka and PostgreSQL: the practice's current
notification settings as it folded them from the log (newest wins), the defaults with
`configured: false` for a practice that never set any, and the optional internal token.

# covers I-NOTIFY-1, X-SLA-1
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from notifier_support import eventually
from sqlalchemy import select

from switchboard.events import (
    PracticeNotificationSettingsChanged,
    SlaTarget,
    WebhookSubscriptionChanged,
    WeeklyWindow,
)
from switchboard.notifier import storage
from switchboard.notifier.app import MIGRATIONS, build_app
from switchboard.notifier.settings import NotifierSettings
from switchboard.platform.internal_api import dev_credentials, internal_app_of, settings_update
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer
from switchboard.platform.migrations import upgrade

pytestmark = pytest.mark.integration

CREDENTIALS = dev_credentials()
TOKEN = CREDENTIALS["gateway"]["SWITCHBOARD_INTERNAL_TOKEN"]


def changed(practice: str, at: datetime, **kw: Any) -> PracticeNotificationSettingsChanged:
    eid = uuid.uuid4()
    return PracticeNotificationSettingsChanged(
        event_id=eid,
        occurred_at=at,
        practice_id=practice,
        correlation_id=eid,
        actor="u-admin",
        **kw,
    )


@pytest.fixture
async def notifier(settings) -> AsyncIterator[tuple[httpx.AsyncClient, Publisher, Any]]:
    upgrade(MIGRATIONS, settings.database_url)
    ns = NotifierSettings(
        **(
            settings.model_dump()
            | {"service_name": "notifier"}
            | settings_update(CREDENTIALS["notifier"])
        )
    )
    await ensure_topics(ns)
    app = build_app(ns)
    producer = make_producer(ns)
    await producer.start()
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=internal_app_of(app)), base_url="http://notifier"
            ) as client,
        ):
            yield client, Publisher(producer, ns), app
    finally:
        await producer.stop()


AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_current_settings_in_the_gateways_put_shape_newest_wins(notifier):
    client, publisher, app = notifier
    p = f"p{uuid.uuid4().hex[:8]}"
    url = f"/internal/practices/{p}/notification-settings"

    r = await client.get(url, headers=AUTH)
    assert r.status_code == 200
    assert r.json() == {
        "link_target": "inbox",
        "sla_minutes": None,
        "sla_by_reason": [],
        "timezone": "UTC",
        "business_hours": [],
        "holidays": [],
        "front_line_staff_ids": [],
        "escalation_reassign_to": None,
        "coalesce_seconds": 300,
        "configured": False,
    }

    now = datetime.now(UTC)
    newest = changed(
        p,
        now,
        link_target="patient_page",
        sla_minutes=45,
        sla_by_reason=(SlaTarget(reason="prescriptions_refills", minutes=20),),
        timezone="America/New_York",
        business_hours=(WeeklyWindow(weekday=0, start="09:00", end="17:00"),),
        holidays=(date(2026, 12, 25),),
        front_line_staff_ids=("u-front-1",),
        escalation_reassign_to="u-front-1",
        coalesce_seconds=60,
    )
    older = changed(p, now - timedelta(minutes=5), sla_minutes=999)
    # One batch, one partition: the older one is folded after the newest one, and ignored.
    await publisher.publish([newest, older])

    async def folded() -> bool:
        processed = storage.processed
        async with app.state.runtime.sessionmaker() as session:
            done = await session.execute(
                select(processed.c.event_id).where(processed.c.event_id == older.event_id)
            )
        return done.first() is not None

    await eventually(folded)
    r = await client.get(url, headers=AUTH)
    assert r.status_code == 200
    assert r.json() == {
        "link_target": "patient_page",
        "sla_minutes": 45,
        "sla_by_reason": [{"reason": "prescriptions_refills", "minutes": 20}],
        "timezone": "America/New_York",
        "business_hours": [{"weekday": 0, "start": "09:00", "end": "17:00"}],
        "holidays": ["2026-12-25"],
        "front_line_staff_ids": ["u-front-1"],
        "escalation_reassign_to": "u-front-1",
        "coalesce_seconds": 60,
        "configured": True,
    }


async def test_webhooks_listed_without_their_secrets_removed_ones_left_out(notifier):
    # covers X-NOTIFYADMIN-1, I-NOTIFY-1
    client, publisher, _ = notifier
    p = f"p{uuid.uuid4().hex[:8]}"
    url = f"/internal/practices/{p}/webhooks"
    assert (await client.get(url, headers=AUTH)).json() == {"webhooks": []}

    def hook(sub: str, hook_url: str | None, n: int) -> WebhookSubscriptionChanged:
        eid = uuid.uuid4()
        return WebhookSubscriptionChanged(
            event_id=eid,
            occurred_at=datetime.now(UTC) + timedelta(seconds=n),
            practice_id=p,
            correlation_id=eid,
            actor="u-admin",
            subscription_id=sub,
            url=hook_url,
            secret="s3cret-s3cret-s3cret" if hook_url else None,
        )

    await publisher.publish(
        [
            hook("ehr", "https://ehr.example.org/hook", 0),
            hook("old", "https://old.example.org/hook", 1),
            hook("old", None, 2),
        ]
    )

    async def listed() -> bool:
        body = (await client.get(url, headers=AUTH)).json()
        return [w["subscription_id"] for w in body["webhooks"]] == ["ehr"]

    await eventually(listed)
    body = (await client.get(url, headers=AUTH)).json()
    assert body == {"webhooks": [{"subscription_id": "ehr", "url": "https://ehr.example.org/hook"}]}
    assert "s3cret" not in str(body)


async def test_the_gateways_token_is_required_and_practice_ids_are_checked(notifier):
    client, _, _ = notifier
    url = "/internal/practices/demo/notification-settings"
    assert (await client.get(url)).status_code == 401
    bad = {"Authorization": "Bearer wrong"}
    assert (await client.get(url, headers=bad)).status_code == 401
    # ingest holds a real token, but the notifier does not take calls from ingest
    ingest = {"Authorization": f"Bearer {CREDENTIALS['ingest']['SWITCHBOARD_INTERNAL_TOKEN']}"}
    assert (await client.get(url, headers=ingest)).status_code == 401
    assert (await client.get(url, headers=AUTH)).status_code == 200
    odd = "/internal/practices/%20bad%20id/notification-settings"
    assert (await client.get(odd, headers=AUTH)).status_code == 422
