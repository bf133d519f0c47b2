"""The notifier against the real Kafka and PostgreSQL: alerts on every channel (a real SMTP
server, a webhook receiver that checks signatures, an SMS provider stand-in), availability,
orphans, burst coalescing, failing endpoints, and response timers."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from notifier_support import HttpReceiver, SmtpSink, TopicReader, eventually

from switchboard.events import (
    ChannelChoice,
    ConversationStatusChanged,
    Event,
    LocationUpserted,
    MessageRouted,
    NotificationPreferencesChanged,
    PracticeNotificationSettingsChanged,
    ReplySent,
    StaffAvailabilityChanged,
    Topic,
    WebhookSubscriptionChanged,
    encode,
)
from switchboard.notifier.app import MIGRATIONS, build_app
from switchboard.notifier.settings import NotifierSettings
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer
from switchboard.platform.migrations import upgrade
from switchboard.rules.signing import verify

pytestmark = pytest.mark.integration

SECRET = "whsec-0123456789abcdef"


def env(practice: str, **kw: Any) -> dict[str, Any]:
    eid = uuid.uuid4()
    return {
        "event_id": eid,
        "occurred_at": kw.pop("at", datetime.now(UTC)),
        "practice_id": practice,
        "correlation_id": eid,
        **kw,
    }


def routed(practice: str, conv: uuid.UUID, recipients=(), at=None, **kw) -> MessageRouted:
    at = at or datetime.now(UTC)
    return MessageRouted(
        **env(practice, at=at),
        message_id=uuid.uuid4(),
        conversation_id=conv,
        reason=kw.pop("reason", "refills"),
        reason_source="patient_pick",
        recipients=tuple(recipients),
        decided_at=at,
        **kw,
    )


def prefs(practice: str, staff: str, *channels: tuple[str, str | None]):
    return NotificationPreferencesChanged(
        **env(practice, actor="u-admin"),
        staff_id=staff,
        channels=tuple(ChannelChoice(channel=c, address=a) for c, a in channels),
    )


def hook(practice: str, sub: str, url: str) -> WebhookSubscriptionChanged:
    return WebhookSubscriptionChanged(
        **env(practice, actor="u-admin"), subscription_id=sub, url=url, secret=SECRET
    )


def practice_settings(practice: str, **kw: Any) -> PracticeNotificationSettingsChanged:
    return PracticeNotificationSettingsChanged(**env(practice, actor="u-admin"), **kw)


class Harness:
    def __init__(self, settings: NotifierSettings, publisher: Publisher) -> None:
        self.settings = settings
        self.publisher = publisher

    async def publish(self, *events: Event) -> None:
        await self.publisher.publish(list(events))


@pytest.fixture(scope="module")
def migrated(settings) -> None:
    upgrade(MIGRATIONS, settings.database_url)


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    r = await HttpReceiver().start()
    yield r
    await r.stop()


@pytest.fixture
def smtp() -> Any:
    with SmtpSink() as sink:
        yield sink


@contextlib.asynccontextmanager
async def running_notifier(settings: NotifierSettings) -> AsyncIterator[None]:
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        yield


@pytest.fixture
async def notifier(settings, migrated, receiver, smtp) -> AsyncIterator[Harness]:
    ns = NotifierSettings(
        **(
            settings.model_dump()
            | {
                "service_name": "notifier",
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp.port,
                "sms_api_base_url": receiver.url,
                "sms_account_sid": "AC0001",
                "sms_auth_token": "sms-token",
                "sms_from": "+12125550000",
                "send_max_attempts": 3,
                "send_backoff_initial_s": 0.1,
                "send_backoff_max_s": 0.4,
                "webhook_timeout_s": 1.0,
                "timer_poll_s": 0.2,
                "app_base_url": "https://switchboard.example",
            }
        )
    )
    await ensure_topics(ns)
    producer = make_producer(ns)
    await producer.start()
    try:
        async with running_notifier(ns):
            yield Harness(ns, Publisher(producer, ns))
    finally:
        await producer.stop()


def text_of(envelope: Any) -> str:
    return str(
        email.message_from_bytes(envelope.content, policy=email.policy.default).get_content()
    )


def practice_id() -> str:
    return f"p{uuid.uuid4().hex[:8]}"


# covers I-NOTIFY-1
async def test_alerts_on_every_chosen_channel_and_failures_are_events(notifier, receiver, smtp):
    p = practice_id()
    conv = uuid.uuid4()
    async with TopicReader(notifier.settings, Topic.NOTIFICATIONS) as out:
        await notifier.publish(
            practice_settings(p, link_target="patient_page"),
            hook(p, "pager", f"{receiver.url}/hooks/pager"),
            prefs(
                p,
                "u-1",
                ("in_app", None),
                ("email", "morgan@clinic.example"),
                ("sms", "+12125550123"),
                ("webhook", "pager"),
            ),
            # u-2 chose email and SMS with no valid address: those fail, in-app still works.
            prefs(p, "u-2", ("in_app", None), ("email", "not an address"), ("sms", "555-0100")),
        )
        message = routed(p, conv, recipients=("u-1", "u-2"), patient_id="pat-1")
        await notifier.publish(message)
        await eventually(lambda: len(out.of("AlertSent", conversation_id=conv)) == 5)
        await eventually(lambda: len(out.of("AlertFailed", conversation_id=conv)) == 2)

        sent = {(e.staff_id, e.channel) for e in out.of("AlertSent", conversation_id=conv)}
        assert sent == {
            ("u-1", "in_app"),
            ("u-1", "email"),
            ("u-1", "sms"),
            ("u-1", "webhook"),
            ("u-2", "in_app"),
        }
        failed = {
            (e.staff_id, e.channel, e.why)
            for e in out.of("AlertFailed")
            if e.conversation_id == conv
        }
        assert failed == {("u-2", "email", "no_valid_address"), ("u-2", "sms", "no_valid_address")}
        link = f"/patients/pat-1/communications?conversation={conv}"
        assert {e.link for e in out.of("AlertSent", conversation_id=conv)} == {link}

        # The email went through a real SMTP server, with no patient data in it.
        (mail,) = [m for m in smtp.messages if str(conv) in text_of(m)]
        assert mail.rcpt_tos == ["morgan@clinic.example"]
        assert f"https://switchboard.example{link}" in text_of(mail)
        # The webhook is signed over its exact body.
        hooks = [r for r in receiver.requests if r.path == "/hooks/pager"]
        assert len(hooks) == 1
        h = hooks[0]
        assert verify(
            SECRET,
            h.headers["x-switchboard-timestamp"],
            h.headers["x-switchboard-signature"],
            h.body,
            now=time.time(),
        )
        assert not verify(
            "wrong-secret-000000",
            h.headers["x-switchboard-timestamp"],
            h.headers["x-switchboard-signature"],
            h.body,
            now=time.time(),
        )
        # The SMS went to the provider's Messages resource.
        sms = [r for r in receiver.requests if r.path.endswith("/Messages.json")]
        assert len(sms) == 1 and b"To=%2B12125550123" in sms[0].body

        # A burst in the same conversation, and a redelivered decision: no new alerts.
        for _ in range(5):
            await notifier.publish(routed(p, conv, recipients=("u-1", "u-2")))
        await notifier.publisher.producer.send_and_wait(
            notifier.settings.topic(Topic.ROUTING),
            value=encode(message),
            key=message.partition_key().encode(),
        )
        marker = uuid.uuid4()
        await notifier.publish(routed(p, marker, recipients=("u-2",)))
        await eventually(lambda: out.of("AlertSent", conversation_id=marker))
        await eventually(lambda: len(smtp.messages) >= 1, within=2)
        assert len(out.of("AlertSent", conversation_id=conv)) == 5
        assert len([r for r in receiver.requests if r.path == "/hooks/pager"]) == 1
        assert len([m for m in smtp.messages if str(conv) in text_of(m)]) == 1


# covers X-AVAIL-1
async def test_away_staff_are_skipped_for_their_substitute_and_orphans_reach_the_front_line(
    notifier,
):
    p = practice_id()
    now = datetime.now(UTC)
    covered, orphan = uuid.uuid4(), uuid.uuid4()
    async with TopicReader(notifier.settings, Topic.NOTIFICATIONS) as out:
        await notifier.publish(
            practice_settings(p, front_line_staff_ids=("u-front",)),
            StaffAvailabilityChanged(
                **env(p, actor="u-ooo"),
                staff_id="u-ooo",
                out_of_office_from=now - timedelta(days=1),
                out_of_office_until=now + timedelta(days=6),
                substitute_staff_id="u-sub",
            ),
            StaffAvailabilityChanged(
                **env(p, actor="u-admin"),
                staff_id="u-gone",
                out_of_office_from=now - timedelta(hours=2),
            ),
        )
        await notifier.publish(
            routed(p, covered, recipients=("u-ooo",)),
            routed(p, orphan, recipients=("u-gone",)),
        )
        await eventually(lambda: out.of("AlertSent", conversation_id=covered))
        await eventually(lambda: out.of("OrphanAlertRaised", conversation_id=orphan))
        await eventually(lambda: out.of("AlertSent", conversation_id=orphan))
        (sub,) = out.of("AlertSent", conversation_id=covered)
        assert (sub.staff_id, sub.why, sub.substitute_for) == ("u-sub", "substitute", "u-ooo")
        (raised,) = out.of("OrphanAlertRaised", conversation_id=orphan)
        assert raised.unavailable_staff_ids == ("u-gone",)
        assert raised.front_line_staff_ids == ("u-front",)
        (front,) = out.of("AlertSent", conversation_id=orphan)
        assert (front.staff_id, front.kind, front.why) == ("u-front", "orphan", "front_line")
        assert not out.of("AlertSent", staff_id="u-ooo")


# covers I-NOTIFY-1
async def test_a_failing_webhook_backs_off_is_reported_and_does_not_slow_the_others(
    notifier, receiver
):
    p = practice_id()

    def behaviour(req):
        # The "down" endpoint answers 503 after most of the client's timeout.
        return (503, 0.8) if req.path == "/hooks/down" else (200, 0.0)

    receiver.behaviour = behaviour
    async with TopicReader(notifier.settings, Topic.NOTIFICATIONS) as out:
        await notifier.publish(
            hook(p, "down", f"{receiver.url}/hooks/down"),
            hook(p, "up", f"{receiver.url}/hooks/up"),
            prefs(p, "u-down", ("webhook", "down")),
            prefs(p, "u-up", ("webhook", "up")),
        )
        started = time.monotonic()
        convs = [uuid.uuid4() for _ in range(30)]
        await notifier.publish(*[routed(p, c, recipients=("u-down", "u-up")) for c in convs])
        await eventually(
            lambda: (
                len([e for e in out.of("AlertSent", staff_id="u-up") if e.conversation_id in convs])
                == 30
            ),
            within=15,
        )
        healthy_took = time.monotonic() - started
        await eventually(
            lambda: (
                len(
                    [
                        e
                        for e in out.of("AlertFailed", staff_id="u-down")
                        if e.conversation_id in convs
                    ]
                )
                == 30
            ),
            within=30,
        )
        failures = [
            e for e in out.of("AlertFailed", staff_id="u-down") if e.conversation_id in convs
        ]
        assert {e.why for e in failures} == {"webhook_http_503_after_3_attempts"}
        assert {e.attempts for e in failures} == {3} and all(e.final for e in failures)
        down_calls = [r for r in receiver.requests if r.path == "/hooks/down"]
        # Alerts were batched and paused between attempts, not hammered one by one.
        assert len(down_calls) <= 3 * 30
        # The healthy endpoint never waited for the failing one's retries and backoff.
        assert healthy_took < 5.0, healthy_took


# covers X-SLA-1
async def test_unanswered_conversation_escalates_once_and_a_reply_stops_the_timer(notifier):
    p = practice_id()
    now = datetime.now(UTC)
    late, answered, closed = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with (
        TopicReader(notifier.settings, Topic.NOTIFICATIONS) as out,
        TopicReader(notifier.settings, Topic.ACTIONS) as actions,
    ):
        await notifier.publish(
            practice_settings(
                p, sla_minutes=1, front_line_staff_ids=("u-front",), escalation_reassign_to="u-lead"
            ),
        )
        # Decided 57 s ago with a one-minute target (around the clock): due in ~3 s.
        first = routed(p, late, recipients=("u-1",), at=now - timedelta(seconds=57))
        second = routed(p, answered, recipients=("u-1",), at=now - timedelta(seconds=57))
        third = routed(p, closed, recipients=("u-1",), at=now - timedelta(seconds=57))
        await notifier.publish(first, second, third)
        # Closed by hand without a reply: staff decided, nothing waits for an answer.
        await notifier.publish(
            ConversationStatusChanged(
                **env(p), conversation_id=closed, actor="u-1", status="closed"
            )
        )
        await notifier.publish(
            ReplySent(
                **env(p),
                conversation_id=answered,
                message_id=uuid.uuid4(),
                channel="sms",
                line="+12125550000",
                actor="u-1",
                sent_at=now,
            )
        )
        await eventually(lambda: out.of("ConversationEscalated", conversation_id=late), within=20)
        (esc,) = out.of("ConversationEscalated", conversation_id=late)
        assert esc.target_minutes == 1 and esc.reassign_to == "u-lead"
        assert set(esc.alerted_staff_ids) == {"u-1", "u-front"}
        assert esc.due_at == first.decided_at + timedelta(minutes=1)
        await eventually(
            lambda: len(out.of("AlertSent", conversation_id=late, kind="escalation")) == 2
        )
        await asyncio.sleep(1.0)  # more rounds of the timer loop: nothing fires twice
        assert not out.of("ConversationEscalated", conversation_id=answered)
        assert not out.of("ConversationEscalated", conversation_id=closed)
        assert len(out.of("ConversationEscalated", conversation_id=late)) == 1
        # The escalation reassigns, as a staff action by the system.
        await eventually(lambda: actions.of("ConversationAssigned", conversation_id=late))
        (moved,) = actions.of("ConversationAssigned", conversation_id=late)
        assert moved.assignee == "u-lead" and moved.actor == "system:escalation"
        assert moved.causation_id == esc.event_id


# covers I-NOTIFY-1
async def test_other_services_events_on_the_config_topic_are_read_past(notifier, settings):
    """A registered event the notifier does not handle is skipped, not dead-lettered."""
    p = practice_id()
    foreign = LocationUpserted(**env(p), location_id="loc-1", name="Main St")
    await notifier.publisher.producer.send_and_wait(
        notifier.settings.topic(Topic.CONFIG),
        value=encode(foreign),
        key=f"{p}:config".encode(),
    )
    conv = uuid.uuid4()
    async with TopicReader(notifier.settings, Topic.NOTIFICATIONS) as out:
        await notifier.publish(routed(p, conv, recipients=("u-1",)))
        await eventually(lambda: out.of("AlertSent", conversation_id=conv))
    async with TopicReader(notifier.settings, Topic.DEAD_LETTER) as dlq:
        await asyncio.sleep(1.0)
        assert not [e for e in dlq.events if e.event_id == foreign.event_id]
