"""Event webhooks (issue 16, ADR 0022) through real Kafka and PostgreSQL: the notifier
delivers a practice's public events to its endpoints, signed per Standard Webhooks (checked
here with the `standardwebhooks` library), each event once and in order, a failed attempt
retried; a failing endpoint is paused without delaying a healthy one, and resumed; a
redelivery from a point in time sends the same events (same ids) again; admins see the log."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from notifier_support import HttpReceiver, TopicReader, eventually
from public_support import PUBLIC_ORDER, SENDER, conversation
from standardwebhooks import Webhook

from switchboard.events import Topic
from switchboard.notifier.app import MIGRATIONS, build_app
from switchboard.notifier.settings import NotifierSettings
from switchboard.platform.internal_api import dev_credentials, internal_app_of, settings_update
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer
from switchboard.platform.migrations import upgrade

pytestmark = pytest.mark.integration

CREDENTIALS = dev_credentials()
AUTH = {"Authorization": f"Bearer {CREDENTIALS['gateway']['SWITCHBOARD_INTERNAL_TOKEN']}"}
CONVERSATION_TYPES = [*PUBLIC_ORDER, "public.reply.failed"]


class Harness:
    def __init__(
        self, client: httpx.AsyncClient, publisher: Publisher, settings: NotifierSettings
    ) -> None:
        self.client = client
        self.publisher = publisher
        self.settings = settings

    async def add(self, practice: str, url: str, types: list[str]) -> dict[str, Any]:
        r = await self.client.post(
            f"/internal/practices/{practice}/event-webhooks",
            json={"url": url, "event_types": types, "description": "test"},
            headers=AUTH,
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def endpoint(self, practice: str, endpoint_id: str) -> dict[str, Any]:
        r = await self.client.get(f"/internal/practices/{practice}/event-webhooks", headers=AUTH)
        return next(e for e in r.json()["endpoints"] if e["endpoint_id"] == endpoint_id)

    async def log(self, practice: str, endpoint_id: str) -> list[dict[str, Any]]:
        r = await self.client.get(
            f"/internal/practices/{practice}/event-webhooks/{endpoint_id}/deliveries",
            headers=AUTH,
        )
        assert r.status_code == 200, r.text
        return list(r.json()["deliveries"])

    async def publish_conversation(self, practice: str, conv: uuid.UUID) -> list[Any]:
        events = conversation(practice, conv)
        for e in events:
            await self.publisher.publish([e], timeout_s=30)  # a fresh topic may elect slowly
        return events

    async def stream_order(self, conv: uuid.UUID, count: int) -> list[str]:
        """The conversation's public event ids as the public topic holds them: the order a
        webhook must keep (the translator's order, ADR 0022)."""
        async with TopicReader(self.settings, Topic.PUBLIC_CONVERSATIONS) as reader:

            def mine() -> list[Any]:
                return [e for e in reader.events if e.conversation_id == conv]

            await eventually(lambda: len(mine()) == count, within=30)
            return [str(e.event_id) for e in mine()]


@pytest.fixture
async def notifier(settings) -> AsyncIterator[Harness]:
    upgrade(MIGRATIONS, settings.database_url)
    ns = NotifierSettings(
        **(
            settings.model_dump()
            | {
                "service_name": "notifier",
                "env": "dev",  # http to 127.0.0.1 allowed (the receivers here)
                "topic_prefix": f"wh{uuid.uuid4().hex[:6]}.",
                "event_webhook_timeout_s": 1.0,
                "event_webhook_backoff_initial_s": 0.2,
                "event_webhook_backoff_max_s": 0.5,
                "event_webhook_pause_after": 3,
                "event_webhook_poll_s": 0.05,
            }
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
            yield Harness(client, Publisher(producer, ns), ns)
    finally:
        await producer.stop()


@pytest.fixture
async def receivers() -> AsyncIterator[list[HttpReceiver]]:
    made: list[HttpReceiver] = []

    async def make(behaviour: Any = None) -> HttpReceiver:
        r = HttpReceiver() if behaviour is None else HttpReceiver(behaviour=behaviour)
        await r.start()
        made.append(r)
        return r

    yield make  # type: ignore[misc]
    for r in made:
        await r.stop()


def verified(secret: str, requests: list[Any]) -> list[dict[str, Any]]:
    """Every request's body, after the standard library verified its signature."""
    hook = Webhook(secret)
    return [hook.verify(r.body, r.headers) for r in requests]


# covers X-EVENTS-2
async def test_each_event_once_in_order_signed_with_one_forced_failure_retried(
    notifier, receivers
) -> None:
    practice = f"p{uuid.uuid4().hex[:8]}"
    failed_once: set[str] = set()

    def behaviour(call: Any) -> tuple[int, float]:
        if b"public.conversation.assigned" in call.body and not failed_once:
            failed_once.add(call.headers["webhook-id"])
            return 503, 0.0
        return 200, 0.0

    receiver = await receivers(behaviour)
    endpoint = await notifier.add(practice, f"{receiver.url}/hooks", CONVERSATION_TYPES)
    assert endpoint["secret"].startswith("whsec_") and endpoint["status"] == "active"
    conv = uuid.uuid4()
    await notifier.publish_conversation(practice, conv)
    await eventually(lambda: len(receiver.requests) >= len(PUBLIC_ORDER) + 1, within=60)

    bodies = verified(endpoint["secret"], receiver.requests)
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert all(b["conversation_id"] == str(conv) for b in bodies)
    # the failed attempt, then the same event (same webhook-id) again, then the rest
    (failed_id,) = failed_once
    assert ids.count(failed_id) == 2
    accepted = [b for b, i in zip(bodies, ids, strict=True) if i not in failed_once]
    stream = await notifier.stream_order(conv, len(PUBLIC_ORDER))
    at = stream.index(failed_id)
    assert ids == [*stream[: at + 1], failed_id, *stream[at + 1 :]]  # in order, each once
    assert {b["event_type"] for b in bodies} == set(PUBLIC_ORDER)
    assert SENDER not in str(accepted)  # the public stream has no patient data
    # a wrong secret does not verify
    with pytest.raises(Exception):  # noqa: B017  (the library's WebhookVerificationError)
        verified("whsec_" + "A" * 44, receiver.requests[:1])

    log = await notifier.log(practice, endpoint["endpoint_id"])
    assert {d["status"] for d in log} == {"delivered"}
    retried = [d for d in log if d["event_id"] == failed_id]
    assert retried[0]["attempts"] == 2 and retried[0]["last_status"] == 200


# covers X-EVENTS-2
async def test_a_failing_endpoint_is_paused_without_delaying_a_healthy_one(
    notifier, receivers
) -> None:
    practice = f"p{uuid.uuid4().hex[:8]}"
    broken = {"on": True}
    # The failing one also answers slowly (close to the timeout): it must not hold the other.
    failing = await receivers(lambda _c: (500, 0.5) if broken["on"] else (200, 0.0))
    healthy = await receivers()
    bad = await notifier.add(practice, f"{failing.url}/bad", CONVERSATION_TYPES)
    good = await notifier.add(practice, f"{healthy.url}/good", CONVERSATION_TYPES)
    conv = uuid.uuid4()
    internal = await notifier.publish_conversation(practice, conv)
    await eventually(lambda: len(healthy.requests) == len(PUBLIC_ORDER), within=30)
    stream = await notifier.stream_order(conv, len(PUBLIC_ORDER))
    verified(good["secret"], healthy.requests)
    assert [c.headers["webhook-id"] for c in healthy.requests] == stream
    # The healthy endpoint got everything while the failing one was still on its first event.
    assert {b["event_type"] for b in verified(bad["secret"], failing.requests)} <= {PUBLIC_ORDER[0]}

    async def paused() -> bool:
        return (await notifier.endpoint(practice, bad["endpoint_id"]))["status"] == "paused"

    await eventually(paused, within=30)
    tries = len(failing.requests)
    assert tries >= 3

    # Fixed and resumed: everything queued arrives, in order, each event once more at most.
    broken["on"] = False
    r = await notifier.client.post(
        f"/internal/practices/{practice}/event-webhooks/{bad['endpoint_id']}/resume",
        headers=AUTH,
    )
    assert r.status_code == 200 and r.json()["status"] == "active"
    await eventually(lambda: len(failing.requests) == tries + len(PUBLIC_ORDER), within=30)
    verified(bad["secret"], failing.requests[tries:])
    assert [c.headers["webhook-id"] for c in failing.requests[tries:]] == stream

    # Redelivery from a point in time: the events since the routing decision, same ids.
    since = internal[1].occurred_at - timedelta(milliseconds=1)
    r = await notifier.client.post(
        f"/internal/practices/{practice}/event-webhooks/{good['endpoint_id']}/redeliver",
        json={"since": since.isoformat()},
        headers=AUTH,
    )
    assert r.status_code == 200 and r.json()["queued"] == len(PUBLIC_ORDER) - 2
    await eventually(lambda: len(healthy.requests) == 2 * len(PUBLIC_ORDER) - 2, within=30)
    first_ids = [c.headers["webhook-id"] for c in healthy.requests[: len(PUBLIC_ORDER)]]
    again_ids = [c.headers["webhook-id"] for c in healthy.requests[len(PUBLIC_ORDER) :]]
    assert sorted(again_ids) == sorted(first_ids[2:])  # the same ids again
    assert again_ids == [i for i in stream if i in again_ids]  # in the stream's order
    log = await notifier.log(practice, good["endpoint_id"])
    assert sum(d["redelivery"] for d in log) == len(PUBLIC_ORDER) - 2


async def test_endpoint_urls_and_types_are_checked(notifier) -> None:
    practice = f"p{uuid.uuid4().hex[:8]}"
    url = f"/internal/practices/{practice}/event-webhooks"
    for body in (
        {"url": "http://example.org/hook", "event_types": ["public.reply.sent"]},
        {"url": "ftp://127.0.0.1/hook", "event_types": ["public.reply.sent"]},
        {"url": "https://example.org/hook", "event_types": ["MessageReceived"]},
    ):
        r = await notifier.client.post(url, json=body, headers=AUTH)
        assert r.status_code == 422, body
    r = await notifier.client.post(
        url,
        json={"url": "https://example.org/h", "event_types": ["public.reply.sent"]},
        headers=AUTH,
    )
    assert r.status_code == 200
    other = f"/internal/practices/other-{practice}/event-webhooks/{r.json()['endpoint_id']}"
    assert (await notifier.client.get(f"{other}/deliveries", headers=AUTH)).status_code == 404
