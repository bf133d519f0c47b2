"""Outbound at most once per recipient, against the real Kafka and PostgreSQL: a send the
provider accepted just before the process died (its task cancelled while waiting for the
provider's answer, so the row is still `sending`), or whose answer was lost (a timeout),
is not sent again to the recipient after a restart.

SMS: the provider stand-in (Twilio's Messages resource, no idempotency key) must hold one
message per recipient; the restarted sender reads its record instead. Email: the relay may
see the resend, but with the same Message-ID. Webhooks: every delivery of an alert carries
the same Idempotency-Key."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from ingest_support import JsonServer, own_database, prepare, running_ingest
from notifier_support import TopicReader, eventually
from prometheus_client import REGISTRY
from provider_standins import MailReceiver, SmsProvider
from sqlalchemy import select

from switchboard.events import (
    ChannelChoice,
    MessageRouted,
    NotificationPreferencesChanged,
    ReplyRequested,
    Topic,
    WebhookSubscriptionChanged,
)
from switchboard.ingest.adapters import storage as ingest_storage
from switchboard.ingest.settings import IngestSettings, Line
from switchboard.notifier import storage as notifier_storage
from switchboard.notifier.app import MIGRATIONS as NOTIFIER_MIGRATIONS
from switchboard.notifier.app import build_app as build_notifier
from switchboard.notifier.settings import NotifierSettings
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer
from switchboard.platform.migrations import upgrade

pytestmark = pytest.mark.integration

P = f"once-{uuid.uuid4().hex[:6]}"
LINE, MAILBOX = "+12125559000", f"desk@{P}.test"
HOLD_S = 8.0  # the provider keeps the answer this long: the sender is "killed" first


def env(**kw: Any) -> dict[str, Any]:
    eid = kw.pop("event_id", uuid.uuid4())
    base = {"event_id": eid, "occurred_at": datetime.now(UTC), "practice_id": P}
    return base | {"correlation_id": eid} | kw


def suppressed(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def crash(dispatcher: Any, loop: asyncio.Task[None]) -> None:
    """Kill the sender where it hurts: the provider has the message, no mark is written.
    Stopping its loop (it claims nothing more) and cancelling its send tasks while they
    await the provider's answer leaves the rows `sending` with their lease, as kill -9
    would."""
    tasks = list(dispatcher.tasks)
    assert tasks, "nothing in flight to crash"
    dispatcher.stop()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, loop, return_exceptions=True)


# --- ingest: staff replies --------------------------------------------------------------


@pytest.fixture(scope="module")
async def ingest(settings) -> AsyncIterator[Any]:
    provider = await SmsProvider().start()
    peers = await JsonServer(lambda _c: (404, {})).start()
    with own_database(int(os.environ.get("PG_PORT", "55432"))) as db, MailReceiver() as relay:
        s = IngestSettings(
            kafka_bootstrap=settings.kafka_bootstrap,
            consumer_backoff_initial_s=0.01,
            consumer_backoff_max_s=0.05,
            database_url=db,
            topic_prefix=f"once{uuid.uuid4().hex[:6]}.",
            service_name="ingest-once",
            practices=[P],
            lines=[
                Line(practice_id=P, channel="sms", address=LINE),
                Line(practice_id=P, channel="email", address=MAILBOX),
            ],
            attachment_dir=f"/tmp/sb-ingest-once-{uuid.uuid4().hex[:6]}",
            smtp_listen_port=0,
            smtp_relay_host="127.0.0.1",
            smtp_relay_port=relay.port,
            smtp_timeout_s=HOLD_S + 5,
            sms_api_base_url=provider.url,
            sms_account_sid="AConce",
            sms_auth_token="once-token",
            sms_timeout_s=0.5,  # below the lease: a slow attempt is not claimed twice
            router_url=peers.url,
            pm_sync_url=peers.url,
            send_lease_s=1.0,
            send_backoff_initial_s=0.05,
            send_backoff_max_s=0.2,
            send_max_attempts=5,
            dispatcher_poll_s=0.05,
            mail_domain="replies.once.test",
        )
        await prepare(s)
        producer = make_producer(s)
        await producer.start()
        try:
            async with TopicReader(s, Topic.DELIVERY) as delivery:
                yield s, Publisher(producer, s), provider, relay, delivery
        finally:
            await producer.stop()
            await provider.stop()
            await peers.stop()


def reply(to: str, channel: str = "sms", line: str = LINE, body: str = "See you at 3") -> Any:
    mid = uuid.uuid4()
    return ReplyRequested(
        **env(event_id=mid),
        conversation_id=uuid.uuid4(),
        actor="u-front",
        message_id=mid,
        channel=channel,
        line=line,
        to=to,
        body=body,
        requested_at=datetime.now(UTC),
    )


async def outbound_status(app: Any, message_id: uuid.UUID) -> str | None:
    o = ingest_storage.outbound
    async with app.state.runtime.sessionmaker() as db:
        return (await db.execute(select(o.c.status).where(o.c.message_id == message_id))).scalar()


async def test_sms_reply_accepted_just_before_a_crash_is_not_sent_again(ingest):
    s, publisher, provider, _relay, delivery = ingest
    to = "+12125559101"
    before = suppressed("switchboard_ingest_resends_suppressed_total", kind="sms")
    provider.hold_next, provider.hold_s = 1, HOLD_S
    answer = reply(to)
    async with running_ingest(s) as (app, _client):
        await publisher.publish([answer])
        await eventually(lambda: len(provider.received(to)) == 1)
        await crash(app.state.dispatcher, app.state.dispatcher_task)
        assert await outbound_status(app, answer.message_id) == "sending"
    # The restarted process finds the row left `sending` once its lease ends.
    async with running_ingest(s) as (app, _client):
        await eventually(lambda: delivery.of("ReplySent", message_id=answer.message_id))
        assert await outbound_status(app, answer.message_id) == "sent"
    (kept,) = provider.received(to)  # exactly once at the provider
    sent = delivery.of("ReplySent", message_id=answer.message_id)[0]
    assert sent.provider_message_id == kept["sid"]
    assert suppressed("switchboard_ingest_resends_suppressed_total", kind="sms") == before + 1


async def test_sms_reply_whose_answer_was_lost_is_not_sent_again(ingest):
    s, publisher, provider, _relay, delivery = ingest
    to = "+12125559102"
    provider.hold_next, provider.hold_s = 1, s.sms_timeout_s + 1  # the sender times out
    lookups = provider.lookups
    answer = reply(to, body="Bring your card")
    async with running_ingest(s) as (_app, _client):
        await publisher.publish([answer])
        await eventually(lambda: delivery.of("ReplySent", message_id=answer.message_id))
    assert len(provider.received(to)) == 1
    assert provider.lookups > lookups  # it asked the provider before resending

    # A first attempt asks nothing: an ordinary reply costs one request.
    other, lookups = "+12125559103", provider.lookups
    answer = reply(other)
    async with running_ingest(s) as (_app, _client):
        await publisher.publish([answer])
        await eventually(lambda: delivery.of("ReplySent", message_id=answer.message_id))
    assert len(provider.received(other)) == 1 and provider.lookups == lookups


async def test_email_reply_resent_after_a_crash_keeps_its_message_id(ingest):
    s, publisher, _provider, relay, delivery = ingest
    to = "pat@example.com"
    relay.hold_next, relay.hold_s = 1, HOLD_S
    answer = reply(to, channel="email", line=MAILBOX, body="Your results are in")
    async with running_ingest(s) as (app, _client):
        await publisher.publish([answer])
        await eventually(lambda: len(relay.by_message_id(to)) == 1)
        await crash(app.state.dispatcher, app.state.dispatcher_task)
    async with running_ingest(s) as (_app, _client):
        await eventually(lambda: delivery.of("ReplySent", message_id=answer.message_id))
    # SMTP cannot be asked what it has: the relay got it again, as the same message.
    own = f"<{answer.message_id}@replies.once.test>"
    assert relay.by_message_id(to) == {own: 2}


# --- notifier: staff alerts ---------------------------------------------------------------


@pytest.fixture(scope="module")
async def notifier(settings, own_db) -> AsyncIterator[Any]:
    provider = await SmsProvider().start()
    with MailReceiver() as mail:
        ns = NotifierSettings(
            kafka_bootstrap=settings.kafka_bootstrap,
            consumer_backoff_initial_s=0.01,
            consumer_backoff_max_s=0.05,
            database_url=own_db,
            topic_prefix=f"oncen{uuid.uuid4().hex[:6]}.",
            service_name="notifier",
            smtp_host="127.0.0.1",
            smtp_port=mail.port,
            smtp_timeout_s=HOLD_S + 5,
            sms_api_base_url=provider.url,
            sms_account_sid="AConce",
            sms_auth_token="once-token",
            sms_from="+12125559000",
            sms_timeout_s=HOLD_S + 5,
            webhook_timeout_s=HOLD_S + 5,
            # Long enough for all three channels to be in flight before the crash, not
            # claimed again by the running process.
            send_lease_s=5.0,
            send_max_attempts=5,
            send_backoff_initial_s=0.05,
            send_backoff_max_s=0.2,
            app_base_url="https://switchboard.example",
        )
        upgrade(NOTIFIER_MIGRATIONS, ns.database_url)
        await ensure_topics(ns)
        producer = make_producer(ns)
        await producer.start()
        try:
            async with TopicReader(ns, Topic.NOTIFICATIONS) as out:
                yield ns, Publisher(producer, ns), provider, mail, out
        finally:
            await producer.stop()
            await provider.stop()


@contextlib.asynccontextmanager
async def running_notifier(ns: NotifierSettings) -> AsyncIterator[Any]:
    app = build_notifier(ns)
    async with app.router.lifespan_context(app):
        yield app


async def test_alerts_accepted_just_before_a_crash_reach_each_recipient_once(notifier):
    ns, publisher, provider, mail, out = notifier
    phone, addr, conv = "+12125559201", "morgan@clinic.example", uuid.uuid4()
    before = suppressed("switchboard_notifier_resends_suppressed_total", channel="sms")
    provider.hold_next, provider.hold_s = 2, HOLD_S  # the SMS and the webhook
    mail.hold_next, mail.hold_s = 1, HOLD_S
    async with running_notifier(ns) as app:
        await publisher.publish(
            [
                WebhookSubscriptionChanged(
                    **env(actor="u-admin"),
                    subscription_id="pager",
                    url=f"{provider.url}/hooks/pager",
                    secret="whsec-0123456789abcdef",
                ),
                NotificationPreferencesChanged(
                    **env(actor="u-admin"),
                    staff_id="u-1",
                    channels=tuple(
                        ChannelChoice(channel=c, address=a)
                        for c, a in (("email", addr), ("sms", phone), ("webhook", "pager"))
                    ),
                ),
            ]
        )
        await asyncio.sleep(0.5)  # configuration before the message (one consumer, in order)
        await publisher.publish(
            [
                MessageRouted(
                    **env(),
                    message_id=uuid.uuid4(),
                    conversation_id=conv,
                    reason="refills",
                    reason_source="patient_pick",
                    recipients=("u-1",),
                    decided_at=datetime.now(UTC),
                )
            ]
        )
        await eventually(
            lambda: (
                len(provider.received(phone)) == 1
                and len(provider.webhooks) == 1
                and len(mail.by_message_id(addr)) == 1
            )
        )
        await crash(*app.state.workers[0])
        o = notifier_storage.outbox
        async with app.state.runtime.sessionmaker() as db:
            statuses = (await db.execute(select(o.c.status).where(o.c.practice_id == P))).all()
        assert [r.status for r in statuses] == ["sending"] * 3
    async with running_notifier(ns):
        await eventually(lambda: len(out.of("AlertSent", conversation_id=conv)) == 3)

    sent = {e.channel: e for e in out.of("AlertSent", conversation_id=conv)}
    assert len(provider.received(phone)) == 1  # SMS: once, the provider's record was read
    assert suppressed("switchboard_notifier_resends_suppressed_total", channel="sms") == before + 1
    # Email: maybe twice at the relay, always as the same message.
    assert list(mail.by_message_id(addr)) == [f"<{sent['email'].alert_id}@switchboard.alerts>"]
    # Webhook: resent (nothing to ask), with the same key, so the subscriber can drop it.
    keys = {c.headers.get("idempotency-key") for c in provider.webhooks}
    assert keys == {str(sent["webhook"].alert_id)}

    # The record the fault harness reads: no SMS duplicated, email/webhook repeats keyed.
    async with httpx.AsyncClient() as client:
        record = (await client.get(f"{provider.url}/_sandbox/sends")).json()
    assert [d for d in record["duplicates"] if d["channel"] == "sms"] == []
    assert {d["channel"] for d in record["duplicates"]} <= {"webhook"}
    assert [s["recipient"] for s in record["sends"] if s["channel"] == "sms"] == [phone]
