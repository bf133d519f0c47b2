"""The SMS / email reason menu through the real router process, Kafka and PostgreSQL
(X-MENU-1..6): a message that would get the picker waits, the menu goes out on the actions
topic as a system reply, and the answer, no answer, a wrong answer (then a right one, or a
second wrong one), another channel and the sticky hour decide how the waiting message routes.
A waiting menu and its timer survive a restart of the router."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer
from router_process import PRACTICE, RouterProcess, settings_changed, subscribed
from sqlalchemy import create_engine, text

from switchboard.events import (
    ConversationStatusChanged,
    Event,
    MessageReceived,
    MessageRouted,
    PatientUpserted,
    PracticeMessageRead,
    ReasonMenuExpired,
    ReasonMenuSet,
    ReplyRequested,
    Topic,
    decode,
    deterministic_id,
)
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer

pytestmark = pytest.mark.integration

LINE = "+12125550100"
SHORT_LINE = "+12125550199"  # its own, one-minute window (a line's setting wins)
MAIL_LINE = "care@menu.example.org"
NOW = datetime.now(UTC).replace(microsecond=0)
BILLING, REFILLS, FRONT = "u-billing", "u-refills", "u-front"


def _ids(*parts: str) -> dict:
    eid = deterministic_id("menu-it", *parts)
    return {"event_id": eid, "correlation_id": eid, "practice_id": PRACTICE}


def conversation(name: str) -> uuid.UUID:
    return deterministic_id("menu-it", "conv", name)


def sms(
    name: str, sender: str, body: str, at: datetime, *, line: str = LINE, conv: str = ""
) -> MessageReceived:
    return MessageReceived(
        occurred_at=at,
        message_id=deterministic_id("menu-it", "mid", name),
        conversation_id=conversation(conv or sender),
        channel="sms",
        sender=sender,
        recipient=line,
        provider="test",
        provider_message_id=name,
        received_at=at,
        body=body,
        **_ids("message", name),
    )


def email(name: str, sender: str, body: str, at: datetime) -> MessageReceived:
    return sms(name, sender, body, at, line=MAIL_LINE).model_copy(
        update={"channel": "email", "subject": "A question"}
    )


def voicemail(name: str, sender: str, at: datetime) -> MessageReceived:
    return sms(name, sender, "", at).model_copy(update={"channel": "voicemail"})


def patient(pid: str, contact: str, language: str | None = None) -> PatientUpserted:
    phones, emails = ((), (contact,)) if "@" in contact else ((contact,), ())
    return PatientUpserted(
        occurred_at=NOW,
        patient_id=pid,
        given_name="Menu",
        family_name=pid,
        phones=phones,
        emails=emails,
        preferred_language=language,
        source_updated_at=NOW,
        **_ids("patient", pid),
    )


def menu_set(name: str, line: str | None, window: int = 10) -> ReasonMenuSet:
    at = NOW - timedelta(hours=3)
    return ReasonMenuSet(
        occurred_at=at, actor="u-admin", line=line, enabled=True, window_minutes=window,
        **_ids("menu", name),
    )  # fmt: skip


def closed(name: str, conv: str, at: datetime) -> list[Event]:
    """Staff closed it and the patient read the practice's last message (R-REASON-3)."""
    cid = conversation(conv)
    return [
        ConversationStatusChanged(
            occurred_at=at, conversation_id=cid, actor="u-front", status="closed",
            **_ids("close", name),
        ),
        PracticeMessageRead(
            occurred_at=at, conversation_id=cid, actor="patient", read_at=at,
            message_id=uuid.uuid4(), **_ids("read", name),
        ),
    ]  # fmt: skip


async def read_until(
    settings, topic: Topic, done: Callable[[list[Event]], bool], timeout_s: float = 45
) -> list[Event]:
    consumer = AIOKafkaConsumer(
        settings.topic(topic),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: dict[uuid.UUID, Event] = {}
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for r in records:
                        e = decode(r.value)
                        seen.setdefault(e.event_id, e)
                if done(list(seen.values())):
                    return list(seen.values())
    finally:
        await consumer.stop()


def menus_to(events: list[Event], conv: str) -> list[ReplyRequested]:
    cid = conversation(conv)
    found = [e for e in events if isinstance(e, ReplyRequested) and e.conversation_id == cid]
    return sorted(found, key=lambda e: e.requested_at)


def routed_for(events: list[Event], m: MessageReceived) -> list[MessageRouted]:
    return [e for e in events if isinstance(e, MessageRouted) and e.message_id == m.message_id]


@pytest.fixture(scope="module")
async def menu_world(settings, test_db):
    # The menus' windows run on the real clock (menu_timer.py): the messages' times start
    # when the module does, not when pytest imported it (collection can be long before).
    global NOW
    NOW = datetime.now(UTC).replace(microsecond=0)
    settings = settings.model_copy(update={"topic_prefix": f"mn{uuid.uuid4().hex[:8]}."})
    await ensure_topics(settings)
    server = test_db.rsplit("/", 1)[0]
    name = f"sb_menu_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = f"{server}/{name}"
    producer = make_producer(settings)
    await producer.start()
    publisher = Publisher(producer, settings)
    before = NOW - timedelta(hours=3)
    await publisher.publish(
        [
            subscribed(BILLING, at=before, reasons=("billing",)),
            subscribed(REFILLS, at=before, reasons=("prescriptions_refills",)),
            subscribed(FRONT, at=before, reasons=("other",), inboxes=("unassigned",)),
            settings_changed("menu-on", at=before, reason_routing=True),
            menu_set("practice", None),
            menu_set("short", SHORT_LINE, window=1),
        ]
    )
    router = RouterProcess(settings, db, group_prefix="menu-")
    router.start()
    yield settings, publisher, router
    router.stop()
    await producer.stop()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# The reasons offered, in menu order: subscribed ones in catalogue order, then Other.
MENU_EN = (
    "To direct your message, reply with a number: 1 for Prescriptions / Refills, "
    "2 for Billing, 3 for Other."
)


async def test_the_answer_sets_the_reason_and_is_not_a_new_topic(menu_world):
    # covers X-MENU-2, X-MENU-3, X-MENU-1
    settings, publisher, _ = menu_world
    phone = "+12125550301"
    await publisher.publish([patient("pat-answer", phone)])
    opening = sms("a1", phone, "I was charged twice", NOW)
    await publisher.publish([opening])
    actions = await read_until(settings, Topic.ACTIONS, lambda es: menus_to(es, phone))
    (menu,) = menus_to(actions, phone)
    assert menu.body == MENU_EN and menu.actor == "system" and menu.keep_open
    assert (menu.channel, menu.line, menu.to) == ("sms", LINE, phone)
    await asyncio.sleep(1)
    routing = await read_until(settings, Topic.ROUTING, lambda es: True, timeout_s=5)
    assert routed_for(routing, opening) == []  # routing waits for the answer

    reply = sms("a2", phone, " 2.", NOW + timedelta(minutes=2))
    await publisher.publish([reply])
    routing = await read_until(settings, Topic.ROUTING, lambda es: routed_for(es, opening))
    (d,) = routed_for(routing, opening)
    assert (d.reason, d.reason_source, d.recipients) == ("billing", "patient_pick", (BILLING,))
    assert d.explanation[0].rule == "X-MENU-3"
    assert d.event_id == deterministic_id(opening.event_id, "router")
    await asyncio.sleep(1)
    routing = await read_until(settings, Topic.ROUTING, lambda es: True, timeout_s=5)
    assert routed_for(routing, reply) == []  # the answer is not routed as a new topic


async def test_in_the_patients_language_wrong_answer_then_right(menu_world):
    # covers X-MENU-4, X-LANG-1
    settings, publisher, _ = menu_world
    phone = "+12125550302"
    await publisher.publish([patient("pat-es", phone, language="es-MX")])
    opening = sms("b1", phone, "Necesito una receta", NOW)
    await publisher.publish([opening, sms("b2", phone, "no sé", NOW + timedelta(minutes=1))])
    actions = await read_until(settings, Topic.ACTIONS, lambda es: len(menus_to(es, phone)) == 2)
    first, retry = menus_to(actions, phone)
    assert first.body.startswith("Para dirigir su mensaje, responda con un número: 1 para Recetas")
    assert retry.body.startswith("Lo sentimos, no entendimos su respuesta. Para dirigir")
    assert first.message_id != retry.message_id
    await publisher.publish([sms("b3", phone, "Recetas / Resurtidos", NOW + timedelta(minutes=2))])
    routing = await read_until(settings, Topic.ROUTING, lambda es: routed_for(es, opening))
    (d,) = routed_for(routing, opening)
    assert (d.reason, d.recipients) == ("prescriptions_refills", (REFILLS,))


async def test_wrong_twice_routes_as_without_a_menu(menu_world):
    # covers X-MENU-4, R-OVERWRITE-1
    settings, publisher, _ = menu_world
    phone = "+12125550303"
    await publisher.publish([patient("pat-wrong", phone)])
    opening = sms("c1", phone, "hello", NOW)
    await publisher.publish(
        [
            opening,
            sms("c2", phone, "what?", NOW + timedelta(minutes=1)),
            sms("c3", phone, "just call me", NOW + timedelta(minutes=2)),
        ]
    )
    routing = await read_until(settings, Topic.ROUTING, lambda es: routed_for(es, opening))
    (d,) = routed_for(routing, opening)
    assert (d.reason, d.reason_source, d.recipients) == ("other", "cleared", (FRONT,))
    actions = await read_until(settings, Topic.ACTIONS, lambda es: True, timeout_s=5)
    assert len(menus_to(actions, phone)) == 2  # the menu and one retry, no third


async def test_no_answer_in_the_window_routes_without_a_reason_even_across_a_restart(menu_world):
    # covers X-MENU-4, X-MENU-2
    settings, publisher, router = menu_world
    phone = "+12125550304"
    await publisher.publish([patient("pat-silent", phone)])
    # The short line's window is one minute, counted from the message's own time.
    started = datetime.now(UTC) - timedelta(seconds=50)
    opening = sms("d1", phone, "hi", started, line=SHORT_LINE)
    await publisher.publish([opening])
    await read_until(settings, Topic.ACTIONS, lambda es: menus_to(es, phone))
    router.stop()  # the waiting menu is the timer: it survives a restart
    router.start()
    routing = await read_until(settings, Topic.ROUTING, lambda es: routed_for(es, opening), 60)
    (d,) = routed_for(routing, opening)
    assert (d.reason, d.reason_source) == ("other", "cleared")
    actions = await read_until(settings, Topic.ACTIONS, lambda es: True, timeout_s=5)
    expired = [e for e in actions if isinstance(e, ReasonMenuExpired)]
    assert [e.menu_id for e in expired if e.conversation_id == conversation(phone)] == [
        opening.message_id
    ]
    assert d.causation_id == opening.event_id
    # An answer after the window is an ordinary message: routed, as an SMS (a new topic).
    late = sms("d2", phone, "2", datetime.now(UTC), line=SHORT_LINE)
    await publisher.publish([late])
    routing = await read_until(settings, Topic.ROUTING, lambda es: routed_for(es, late))
    assert routed_for(routing, late)[0].reason_source == "cleared"


async def test_sticky_hour_and_overwrite_hold_by_email_and_sms(menu_world):
    # covers R-STICKY-1, R-OVERWRITE-1, X-MENU-2, X-MENU-3
    settings, publisher, _ = menu_world
    address, phone = "sticky@example.org", "+12125550305"
    await publisher.publish([patient("pat-mail", address), patient("pat-sticky", phone)])
    opening = email("e1", address, "About my bill", NOW)
    answer = email(
        "e2", address, "BILLING\n\n> 1. PRESCRIPTIONS-REFILLS", NOW + timedelta(minutes=1)
    )
    await publisher.publish([opening, answer])
    actions = await read_until(settings, Topic.ACTIONS, lambda es: menus_to(es, address))
    (menu,) = menus_to(actions, address)
    assert menu.channel == "email" and menu.subject == "Re: A question"
    assert "2. BILLING: Billing" in menu.body
    routing = await read_until(settings, Topic.ROUTING, lambda es: routed_for(es, opening))
    assert routed_for(routing, opening)[0].reason == "billing"

    # Closed and read, but within the hour of the answer: no menu, the reason sticks.
    await publisher.publish(closed("e", address, NOW + timedelta(minutes=5)))
    again = email("e3", address, "One more thing", NOW + timedelta(minutes=30))
    await publisher.publish([again])
    routing = await read_until(settings, Topic.ROUTING, lambda es: routed_for(es, again))
    assert routed_for(routing, again)[0].reason_source == "sticky"
    assert routed_for(routing, again)[0].reason == "billing"

    # An SMS within the hour clears the reason as before (no menu); two hours later, once
    # closed and read, the menu asks again and the answer names the new topic.
    first = sms("f1", phone, "refill please", NOW)
    await publisher.publish([first, sms("f2", phone, "1", NOW + timedelta(minutes=1))])
    routing = await read_until(settings, Topic.ROUTING, lambda es: routed_for(es, first))
    assert routed_for(routing, first)[0].reason == "prescriptions_refills"
    await publisher.publish(closed("f", phone, NOW + timedelta(minutes=3)))
    soon = sms("f3", phone, "thanks", NOW + timedelta(minutes=20))
    await publisher.publish([soon])
    routing = await read_until(settings, Topic.ROUTING, lambda es: routed_for(es, soon))
    assert routed_for(routing, soon)[0].reason_source == "cleared"
    await publisher.publish(closed("f-later", phone, NOW + timedelta(minutes=30)))
    later = sms("f4", phone, "new question", NOW + timedelta(hours=2))
    await publisher.publish([later, sms("f5", phone, "two", NOW + timedelta(hours=2, minutes=1))])
    routing = await read_until(settings, Topic.ROUTING, lambda es: routed_for(es, later))
    assert routed_for(routing, later)[0].reason == "billing"
    actions = await read_until(settings, Topic.ACTIONS, lambda es: True, timeout_s=5)
    assert len(menus_to(actions, phone)) == 2  # the first topic's and the later one's


async def test_voicemail_is_unchanged_and_ends_a_waiting_menu(menu_world):
    # covers X-MENU-6, R-OVERWRITE-1
    settings, publisher, _ = menu_world
    phone = "+12125550306"
    await publisher.publish([patient("pat-vm", phone)])
    opening = sms("g1", phone, "hello", NOW)
    await publisher.publish([opening])
    await read_until(settings, Topic.ACTIONS, lambda es: menus_to(es, phone))
    vm = voicemail("g2", phone, NOW + timedelta(minutes=1))
    await publisher.publish([vm])
    routing = await read_until(
        settings, Topic.ROUTING, lambda es: routed_for(es, opening) and routed_for(es, vm)
    )
    assert routed_for(routing, opening)[0].reason_source == "cleared"
    assert routed_for(routing, vm)[0].reason_source == "cleared"
    # A voicemail never gets a menu of its own.
    other = "+12125550307"
    await publisher.publish([patient("pat-vm2", other)])
    vm2 = voicemail("g3", other, NOW)
    await publisher.publish([vm2])
    routing = await read_until(settings, Topic.ROUTING, lambda es: routed_for(es, vm2))
    actions = await read_until(settings, Topic.ACTIONS, lambda es: True, timeout_s=5)
    assert menus_to(actions, other) == []


async def test_the_settings_read_back_are_the_ones_it_routes_with(menu_world):
    # covers X-MENU-2: what the admin screen reads (GET /reason-menu) is the router's own fold
    _, _, router = menu_world
    want = {
        "practice": {"line": None, "enabled": True, "window_minutes": 10},
        "lines": [{"line": SHORT_LINE, "enabled": True, "window_minutes": 1}],
    }
    async with asyncio.timeout(60):  # the router reads the config topic from its start
        while True:
            r = router.get("/reason-menu")
            assert r.status_code == 200, r.text
            if {k: r.json()[k] for k in want} == want:
                break
            await asyncio.sleep(0.2)
