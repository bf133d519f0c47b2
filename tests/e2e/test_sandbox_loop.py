"""The whole loop through the carrier sandbox `make up` starts (tools/sandbox): a staff SMS
reply to a recognized patient reaches the sandbox, and its statuses come back through
ingest's signed status webhook as ReplyDeliveryUpdated events on the delivery topic
(delivered, then read on demand); an undelivered one also yields ReplyFailed with the
carrier's reason, shown on the message in the conversation API. An email reply reaches
the sandbox's mail sink (alert emails: its unit tests)."""

from __future__ import annotations

import asyncio
import smtplib
import time
import uuid
from email.message import EmailMessage

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from system_support import stranger_number
from test_first_message import post_sms

from switchboard.events import ReplyDeliveryUpdated, ReplyFailed, decode
from switchboard.pm_sync.adapters.mllp import MLLPClient, ack_code

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def wait_for(fn, timeout=60.0, every=0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")


async def register(port: int, patient_id: str, family: str, phone: str, mail: str) -> str:
    """pm-sync learns the patient from the PM system's HL7 feed (ADT^A04)."""
    digits = phone[-10:]
    msh = (
        "MSH|^~\\&|PM|DEMO|SWITCHBOARD|SWITCHBOARD|20260101120000||ADT^A04^ADT_A01|"
        f"{patient_id}|P|2.5.1"
    )
    pid = (
        f"PID|1||{patient_id}^^^DEMO^MR||{family}^Sandy^^^^^L||19800101|F|||||"
        f"({digits[:3]}){digits[3:6]}-{digits[6:]}^PRN^PH^^1^{digits[:3]}^{digits[3:]}"
        f"~^NET^Internet^{mail}"
    )
    adt = "\r".join([msh, "EVN|A04|20260101120000", pid, "PV1|1|O|loc-manhattan"]) + "\r"
    async with MLLPClient("127.0.0.1", port, timeout_s=30) as client:
        return ack_code(await client.send(adt))


async def delivery_events(system, conversation_id: str) -> list:
    consumer = AIOKafkaConsumer(
        f"{system.topic_prefix}switchboard.delivery",
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


def sandbox_sends(system, recipient: str) -> list[dict]:
    r = httpx.get(f"{system.sandbox}/_sandbox/sends", params={"recipient": recipient})
    r.raise_for_status()
    return r.json()["sends"]


def statuses(system, cid: str, sid: str) -> list[str]:
    events = asyncio.run(delivery_events(system, cid))
    return [
        e.status
        for e in events
        if isinstance(e, ReplyDeliveryUpdated) and e.provider_message_id == sid
    ]


def test_reply_through_the_sandbox_comes_back_delivered_read_and_undelivered(system):
    admin = system.login("admin@demo", "demo-admin")
    gw = httpx.Client(base_url=system.gateway, headers=admin, timeout=30)
    phone = stranger_number("646")
    family = f"Sandbox{uuid.uuid4().hex[:6]}"
    mail = f"{family.lower()}@example.org"
    mllp = system.port_base - 8000 + 2575
    patient = f"pat-{uuid.uuid4().hex[:8]}"
    assert asyncio.run(register(mllp, patient, family, phone, mail)) == "AA"
    wait_for(lambda: gw.get("/api/patients", params={"q": family}).json())

    r = post_sms(system, f"SM{uuid.uuid4().hex}", phone, "Can I move my appointment?")
    assert r.status_code == 200, r.text

    def recognized(**by):
        items = gw.get("/api/search", params=by).json().get("items", [])
        detail = items and gw.get(f"/api/conversations/{items[0]['conversation_id']}").json()
        return detail if detail and detail.get("answerable") else None

    conv = wait_for(lambda: recognized(phone=phone))
    cid = conv["conversation_id"]

    def reply(body: str, conversation: str = cid) -> None:
        version = gw.get(f"/api/conversations/{conversation}").json()["version"]
        r = gw.post(
            f"/api/conversations/{conversation}/reply",
            json={"body": body, "expected_version": version, "keep_open": True},
        )
        assert r.status_code in (200, 202), r.text

    # delivered: the carrier's own sequence (queued, sent, delivered), called back signed
    reply("Yes: Tuesday at 10 works.")
    (sent,) = wait_for(
        lambda: [s for s in sandbox_sends(system, phone) if s["status"] == "delivered"]
    )
    assert sent["body"] == "Yes: Tuesday at 10 works." and sent["channel"] == "sms"
    sid = sent["provider_id"]
    assert wait_for(lambda: "delivered" in statuses(system, cid, sid))

    # read, on demand (the page's "Mark read" button calls the same admin API)
    moved = httpx.post(f"{system.sandbox}/_sandbox/sms/{sid}/status", json={"status": "read"})
    assert moved.status_code == 200, moved.text
    assert [c["status"] for c in moved.json()["callbacks"]] == ["read"]
    assert moved.json()["callbacks"][0]["callback"] == 204  # ingest accepted the signature
    assert wait_for(lambda: statuses(system, cid, sid) == ["delivered", "read"])

    # undelivered: the carrier says the handset is unreachable (30003)
    outcome = {"recipient": phone, "status": "undelivered", "error_code": "30003"}
    assert httpx.put(f"{system.sandbox}/_sandbox/outcome", json=outcome).status_code == 200
    reply("Please call us back.")
    lost = wait_for(
        lambda: [s for s in sandbox_sends(system, phone) if s["status"] == "undelivered"]
    )[0]
    assert lost["error_code"] == "30003"
    assert wait_for(lambda: statuses(system, cid, lost["provider_id"]) == ["undelivered"])
    events = asyncio.run(delivery_events(system, cid))
    failed = [e for e in events if isinstance(e, ReplyFailed)]
    assert [e.why for e in failed] == ["provider_undelivered_30003"]

    def failure_shown():
        detail = gw.get(f"/api/conversations/{cid}").json()
        for m in detail.get("messages", []):
            delivery = m.get("delivery") or {}
            if m.get("body") == "Please call us back." and "failed" in delivery:
                return delivery["failed"]
        return None

    assert wait_for(failure_shown)["why"] == "provider_undelivered_30003"

    # email: the patient writes in (ingest's SMTP), the reply lands in the sandbox's mail sink
    inbound = EmailMessage()
    inbound["From"], inbound["To"] = mail, "front@demo.switchboard.test"
    inbound["Subject"], inbound["Message-ID"] = "My results", f"<{uuid.uuid4().hex}@example.org>"
    inbound.set_content("Are my results in?")
    with smtplib.SMTP("127.0.0.1", system.port_base - 8000 + 2525, timeout=30) as smtp:
        smtp.send_message(inbound)
    emailed = wait_for(lambda: recognized(email=mail))
    reply("They are: all normal.", emailed["conversation_id"])
    (letter,) = wait_for(lambda: sandbox_sends(system, mail))
    assert letter["channel"] == "email" and letter["subject"] == "Re: My results"
    assert letter["body"].strip() == "They are: all normal." and letter["provider_id"]
