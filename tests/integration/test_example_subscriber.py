"""The example FastStream subscriber (examples/subscriber, issue 16) end to end: a demo SMS
posted to ingest's Twilio webhook comes out of real Kafka as a typed MessageReceived in the
subscriber; a handler that fails is not committed past (the record comes again); and the
AsyncAPI FastStream generates for it agrees with the committed document."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import yaml
from ingest_support import JsonServer, own_database, prepare, running_ingest
from notifier_support import free_port
from peer_answers import reasons_offer

from examples.subscriber.subscriber import build, specification
from switchboard.events import Event, MessageReceived
from switchboard.events.asyncapi import DOCUMENT_PATH
from switchboard.events.public import PublicConversationCreated, PublicMessageReceived
from switchboard.ingest.adapters.twilio import signature
from switchboard.ingest.settings import IngestSettings, Line
from switchboard.notifier.app import MIGRATIONS as NOTIFIER_MIGRATIONS
from switchboard.notifier.app import build_app as build_notifier
from switchboard.notifier.settings import NotifierSettings
from switchboard.platform.migrations import upgrade

pytestmark = pytest.mark.integration

P = f"sub-{uuid.uuid4().hex[:6]}"
LINE = "+12125550000"
TOKEN = "sub-twilio-token"


@pytest.fixture(scope="module")
async def ingest(settings):
    def peers(call):
        if call.path.endswith("/reasons"):
            return 200, reasons_offer()
        if call.path.endswith("/patients"):
            return 200, {"practice_id": P, "patients": []}
        return 404, {}

    stand_in = await JsonServer(peers).start()
    with own_database(int(settings.database_url.rsplit(":", 1)[1].split("/")[0])) as db:
        s = IngestSettings(
            kafka_bootstrap=settings.kafka_bootstrap,
            database_url=db,
            topic_prefix=f"sub{uuid.uuid4().hex[:6]}.",
            service_name="ingest",
            twilio_auth_token=TOKEN,
            email_webhook_secret="sub-email-webhook-secret",
            practices=[P],
            lines=[Line(practice_id=P, channel="sms", address=LINE, label="Front desk")],
            attachment_dir=f"/tmp/sb-sub-it-{uuid.uuid4().hex[:6]}",
            smtp_listen_port=free_port(),
            router_url=stand_in.url,
            pm_sync_url=stand_in.url,
            dispatcher_poll_s=0.05,
        )
        await prepare(s)
        async with running_ingest(s) as (_, client):
            yield s, client
    await stand_in.stop()


async def _post_sms(client, sid: str, body: str):
    url = f"http://testserver/webhooks/twilio/sms/{P}"
    params = {"MessageSid": sid, "From": "+12125550199", "To": LINE, "Body": body}
    r = await client.post(
        url, data=params, headers={"X-Twilio-Signature": signature(TOKEN, url, params)}
    )
    assert r.status_code == 200, r.text


async def test_a_demo_sms_reaches_the_subscriber_once_handled_and_again_after_a_failure(ingest):
    s, client = ingest
    seen: list[Event] = []
    twice = asyncio.Event()
    failures = {"left": 1}
    marker = uuid.uuid4().hex[:8]

    async def handle(event: Event) -> None:
        if isinstance(event, MessageReceived) and marker in event.body:
            seen.append(event)
            if len(seen) == 2:
                twice.set()
            if failures["left"]:
                failures["left"] -= 1
                raise RuntimeError("the downstream system is down")  # not committed: again

    broker, _ = build(handle, s.kafka_bootstrap, s.topic_prefix, f"example-{marker}")
    await broker.start()
    try:
        await _post_sms(client, f"SM{marker}", f"demo sms {marker}")
        await asyncio.wait_for(twice.wait(), 60)
    finally:
        await broker.stop()
    first, again = seen[:2]
    assert isinstance(first, MessageReceived)  # typed by the published model
    assert first.practice_id == P and first.channel == "sms" and first.line_label == "Front desk"
    assert again.event_id == first.event_id  # the failed one came again, then was committed


# covers X-EVENTS-2
async def test_a_demo_sms_reaches_the_subscriber_as_public_events(ingest, settings):
    """The notifier translates the demo SMS into the public stream, which the example reads."""
    s, client = ingest
    upgrade(NOTIFIER_MIGRATIONS, settings.database_url)
    notifier = NotifierSettings(
        kafka_bootstrap=s.kafka_bootstrap,
        database_url=settings.database_url,
        topic_prefix=s.topic_prefix,
        service_name="notifier",
    )
    app = build_notifier(notifier)
    marker = uuid.uuid4().hex[:8]
    seen: list[Event] = []
    both = asyncio.Event()

    async def handle(event: Event) -> None:
        if event.event_type.startswith("public.") and event.practice_id == P:
            seen.append(event)
            if {e.event_type for e in seen} >= {
                "public.conversation.created",
                "public.message.received",
            }:
                both.set()

    broker, _ = build(handle, s.kafka_bootstrap, s.topic_prefix, f"example-public-{marker}")
    async with app.router.lifespan_context(app):
        await broker.start()
        try:
            await _post_sms(client, f"SM{marker}", f"public demo {marker}")
            await asyncio.wait_for(both.wait(), 60)
        finally:
            await broker.stop()
    created = next(e for e in seen if e.event_type == "public.conversation.created")
    received = next(e for e in seen if e.event_type == "public.message.received")
    assert isinstance(created, PublicConversationCreated)
    assert created.line_label == "Front desk" and created.channel == "sms"
    assert isinstance(received, PublicMessageReceived)
    assert received.conversation_id == created.conversation_id
    assert marker not in str([e.model_dump(mode="json") for e in seen])  # no message text


def test_the_subscribers_generated_asyncapi_agrees_with_the_committed_document():
    async def ignore(event: Event) -> None:
        return None

    broker, _ = build(ignore)
    generated = specification(broker)
    committed = yaml.safe_load(DOCUMENT_PATH.read_text())
    addresses = {c["address"] for c in committed["channels"].values()}
    assert {c["address"] for c in generated["channels"].values()} <= addresses
    assert {o["action"] for o in generated["operations"].values()} == {"receive"}
    for name in ("MessageReceived", "MessageRouted"):
        mine = generated["components"]["schemas"][name]
        published = committed["components"]["schemas"][name]
        assert set(mine["properties"]) == set(published["properties"]), name
        assert set(mine.get("required", ())) == set(published.get("required", ())), name
        for prop, sub in mine["properties"].items():
            assert sub.get("type") == published["properties"][prop].get("type"), (name, prop)
