"""Answering an unrecognized sender (X-UNREPLY-1) through the real services and the carrier
and mail sandbox `make up` starts (tools/sandbox): refused while the practice has not allowed
it (403) and without the policy (403), refused with patient placeholders (422 naming them)
or another line (422); once allowed, the reply reaches the sandbox to the number that wrote,
from the line it wrote to, comes back delivered, is audited (the event on the log names the
actor and the conversation; the access record has it), and stays in the thread when the
conversation is linked to a patient later. An unrecognized email is answered likewise."""

from __future__ import annotations

import asyncio
import os
import smtplib
import uuid
from email.message import EmailMessage

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import create_engine, text
from system_support import stranger_number
from test_first_message import post_sms
from test_sandbox_loop import register, sandbox_sends, statuses, wait_for

from switchboard.events import ReplyRequested, decode

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
PG_PORT = int(os.environ.get("PG_PORT", "55432"))  # as tests/conftest.py

LINE, OTHER_LINE = "+12125550000", "+12125550001"
SETTING = "/api/admin/settings/reply-unrecognized"


async def actions_of(system, conversation_id: str) -> list:
    consumer = AIOKafkaConsumer(
        f"{system.topic_prefix}switchboard.actions",
        bootstrap_servers=system.kafka,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        out = []
        while True:
            batch = await consumer.getmany(timeout_ms=2000)
            if not any(batch.values()):
                return out
            for records in batch.values():
                for r in records:
                    e = decode(r.value)
                    if str(getattr(e, "conversation_id", "")) == conversation_id:
                        out.append(e)
    finally:
        await consumer.stop()


def access_actions(system, conversation_id: str) -> list[tuple[str, str]]:
    """The gateway's access record (T-3) for the conversation: (user, action)."""
    engine = create_engine(
        f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/{system.database}"
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT user_id, action FROM gateway.access_log"
                    " WHERE conversation_id = :c ORDER BY id"
                ),
                {"c": conversation_id},
            )
            return [(r.user_id, r.action) for r in rows]
    finally:
        engine.dispose()


def test_an_unrecognized_sms_is_answered_only_where_allowed_and_keeps_its_thread(system):
    # covers X-UNREPLY-1, I-UNREC-1, I-LINE-1
    admin = system.login("admin@demo", "demo-admin")
    billing = system.login("billing@demo", "demo-billing")
    gw = httpx.Client(base_url=system.gateway, headers=admin, timeout=30)
    stranger = stranger_number("917")
    # The email test may have turned it on (tests run in any order): off, as by default.
    assert gw.put(SETTING, json={"value": False}).status_code == 200

    r = post_sms(system, f"SM{uuid.uuid4().hex}", stranger, "Hi, is the clinic open today?")
    assert r.status_code == 200, r.text

    def unrecognized():
        # routed, not only received: routing is a later version, and a reply names the
        # version it saw
        items = gw.get("/api/search", params={"phone": stranger}).json().get("items", [])
        conv = items and gw.get(f"/api/conversations/{items[0]['conversation_id']}").json()
        return conv and conv["inboxes"] and conv

    conv = wait_for(unrecognized)
    cid = conv["conversation_id"]
    assert conv["answerable"] is False and conv["line"] == LINE

    def reply(body: str, who=admin, **extra):
        version = gw.get(f"/api/conversations/{cid}").json()["version"]
        payload = {"body": body, "expected_version": version, "keep_open": True, **extra}
        return httpx.post(
            f"{system.gateway}/api/conversations/{cid}/reply",
            headers=who,
            json=payload,
            timeout=30,
        )

    # off: 403 with the reason, and the box is told so
    assert gw.get(SETTING).json()["value"] is False
    assert conv["unverified_reply"] == {"allowed": False, "why": conv["unverified_reply"]["why"]}
    r = reply("We are open until 5.")
    assert r.status_code == 403 and "does not allow" in r.json()["detail"], r.text

    # a practice admin allows it: the change is kept with who made it
    r = gw.put(SETTING, json={"value": True})
    assert r.status_code == 200, r.text
    state = gw.get(SETTING).json()
    assert state["value"] is True and state["history"][-1]["changed_by"] == "u-admin"
    assert gw.get(f"/api/conversations/{cid}").json()["unverified_reply"]["allowed"] is True

    # a staff member who reads the conversation but has no policy: 403 naming the policy
    subs = gw.put("/api/admin/routing/subscriptions/u-billing-1", json={"inboxes": ["unassigned"]})
    assert subs.status_code in (200, 202), subs.text
    wait_for(
        lambda: (
            httpx.get(f"{system.gateway}/api/conversations/{cid}", headers=billing).status_code
            == 200
        )
    )
    r = reply("We are open until 5.", who=billing)
    assert r.status_code == 403 and "inbox.reply_unrecognized" in r.json()["detail"], r.text

    # patient placeholders: 422 naming them; another line: 422
    r = reply("Hello {{first_name}} {{ last_name }}, we are open. {{staff_name}}")
    assert r.status_code == 422, r.text
    assert "{{first_name}}" in r.json()["detail"] and "{{last_name}}" in r.json()["detail"]
    assert "staff_name" not in r.json()["detail"]
    r = reply("We are open until 5.", line=OTHER_LINE)
    assert r.status_code == 422 and "line it wrote to" in r.json()["detail"], r.text
    assert sandbox_sends(system, stranger) == []  # nothing refused was sent

    # allowed: to the number that wrote, from the line it wrote to, delivered
    r = reply("We are open until 5. Who is writing, please?")
    assert r.status_code in (200, 202), r.text
    (sent,) = wait_for(
        lambda: [s for s in sandbox_sends(system, stranger) if s["status"] == "delivered"]
    )
    assert sent["channel"] == "sms" and sent["sender"] == LINE
    assert sent["body"] == "We are open until 5. Who is writing, please?"
    assert wait_for(lambda: "delivered" in statuses(system, cid, sent["provider_id"]))

    def outbound():
        detail = gw.get(f"/api/conversations/{cid}").json()
        out = [m for m in detail["messages"] if m["direction"] == "outbound"]
        return out if out and out[0].get("delivery_state") else None

    (shown,) = wait_for(outbound)
    assert shown["recipient"] == stranger and shown["sender"] == LINE

    # audited: the event on the log names actor and conversation; the access record has it
    requested = [e for e in asyncio.run(actions_of(system, cid)) if isinstance(e, ReplyRequested)]
    assert [(e.actor, e.unverified_sender, e.to, e.line) for e in requested] == [
        ("u-admin", True, stranger, LINE)
    ]
    assert ("u-admin", "reply_unrecognized") in access_actions(system, cid)

    # linked later: the reply stays in the thread, and the conversation is answered as usual
    family = f"Later{uuid.uuid4().hex[:6]}"
    patient = f"pat-{uuid.uuid4().hex[:8]}"
    mllp = system.port_base - 8000 + 2575
    mail = f"{family.lower()}@example.org"
    other_phone = stranger_number("646")
    assert asyncio.run(register(mllp, patient, family, other_phone, mail)) == "AA"
    wait_for(lambda: gw.get("/api/patients", params={"q": family}).json())
    version = gw.get(f"/api/conversations/{cid}").json()["version"]
    r = gw.post(
        f"/api/conversations/{cid}/link",
        json={"patient_id": patient, "expected_version": version},
    )
    assert r.status_code in (200, 202), r.text
    linked = wait_for(lambda: (d := gw.get(f"/api/conversations/{cid}").json())["answerable"] and d)
    assert linked["conversation_id"] == cid and linked["unverified_reply"] is None
    bodies = [m["body"] for m in linked["messages"]]
    assert bodies[:2] == [
        "Hi, is the clinic open today?",
        "We are open until 5. Who is writing, please?",
    ]
    r = reply("Thanks, noted on your record.")
    assert r.status_code in (200, 202), r.text
    assert wait_for(lambda: len(sandbox_sends(system, stranger)) == 2)
    later = [e for e in asyncio.run(actions_of(system, cid)) if isinstance(e, ReplyRequested)]
    assert [e.unverified_sender for e in later] == [True, False]


def test_an_unrecognized_email_is_answered_to_the_address_that_wrote(system):
    # covers X-UNREPLY-1
    admin = system.login("admin@demo", "demo-admin")
    gw = httpx.Client(base_url=system.gateway, headers=admin, timeout=30)
    assert gw.put(SETTING, json={"value": True}).status_code == 200
    stranger = f"someone{uuid.uuid4().hex[:8]}@example.net"
    inbound = EmailMessage()
    inbound["From"], inbound["To"] = stranger, "front@demo.switchboard.test"
    inbound["Subject"], inbound["Message-ID"] = "Parking", f"<{uuid.uuid4().hex}@example.net>"
    inbound.set_content("Is there parking near the clinic?")
    with smtplib.SMTP("127.0.0.1", system.port_base - 8000 + 2525, timeout=30) as smtp:
        smtp.send_message(inbound)

    def unrecognized():
        items = gw.get("/api/search", params={"email": stranger}).json().get("items", [])
        return items and gw.get(f"/api/conversations/{items[0]['conversation_id']}").json()

    conv = wait_for(unrecognized)
    assert conv["answerable"] is False and conv["unverified_reply"]["allowed"] is True
    r = gw.post(
        f"/api/conversations/{conv['conversation_id']}/reply",
        json={"body": "Yes, behind the building."},  # whatever routing changed meanwhile
    )
    assert r.status_code in (200, 202), r.text
    (letter,) = wait_for(lambda: sandbox_sends(system, stranger))
    assert letter["channel"] == "email" and letter["subject"] == "Re: Parking"
    assert letter["body"].strip() == "Yes, behind the building."
