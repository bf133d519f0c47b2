"""A reply's delivery on the staff screen, in Chromium against the system `make up` starts
(with the demo practice, its SMS replies going to the local carrier sandbox): an SMS reply
shows Delivered, then Read when the carrier says so, live; one the carrier could not deliver
says why in words, leaves the conversation open (reopened: "Send and Close" closed it once
sent) and is sent again by Retry, once however often it is clicked; a messenger reply the
patient reads shows "Read", live, though "Sent" came first and sorts after it by name."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
from patient_steps import (
    demo_patient_with_upcoming_appointment,
    patient_send,
    patient_sign_in,
    pick_reason_if_asked,
)
from patient_steps import thread as patient_thread
from playwright.sync_api import Page, expect
from staff_steps import screenshot, sign_in
from system_support import System

from switchboard.ingest.adapters.twilio import signature

ADMIN = ("admin@demo", "demo-admin")
LINE = "+12125550000"


def find(system: System, auth: dict[str, str], **params: str) -> dict[str, Any]:
    """The one conversation a staff search finds, once the read model has it."""
    deadline = time.monotonic() + 30
    while True:
        r = httpx.get(f"{system.gateway}/api/search", params=params, headers=auth)
        r.raise_for_status()
        if r.json()["items"]:
            return dict(r.json()["items"][0])
        assert time.monotonic() < deadline, f"no conversation for {params}"
        time.sleep(0.3)


def outbound(system: System, auth: dict[str, str], cid: str, body: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{system.gateway}/api/conversations/{cid}", headers=auth)
    r.raise_for_status()
    return [m for m in r.json()["messages"] if m["direction"] == "outbound" and m["body"] == body]


def open_conversation(page: Page, system: System, cid: str) -> Any:
    sign_in(page, system, *ADMIN)
    page.goto(f"{system.gateway}/#inbox=all/directed&c={cid}")
    return page.get_by_role("region", name="Conversation")


def patient_texts(system: System, phone: str, text: str) -> str:
    """The patient's SMS through ingest's signed webhook; the conversation it lands in."""
    url = f"{system.ingest}/webhooks/twilio/sms/demo"
    params = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": phone, "To": LINE, "Body": text}
    r = httpx.post(
        url,
        data=params,
        headers={"X-Twilio-Signature": signature(system.twilio_token, url, params)},
    )
    assert r.status_code == 200, r.text
    return str(find(system, system.login(*ADMIN), text=text)["conversation_id"])


def sandbox_sms(system: System, phone: str, body: str) -> dict[str, Any]:
    """The carrier sandbox's record of the SMS sent to `phone` with `body`."""
    deadline = time.monotonic() + 30
    while True:
        r = httpx.get(f"{system.sandbox}/_sandbox/sends", params={"recipient": phone})
        r.raise_for_status()
        found = [s for s in r.json()["sends"] if s["body"] == body]
        if found:
            return dict(found[0])
        assert time.monotonic() < deadline, "the reply never reached the carrier sandbox"
        time.sleep(0.3)


def test_an_sms_reply_shows_delivered_then_read_live(demo_system, new_page):
    # covers I-DELIV-3
    patient = demo_patient_with_upcoming_appointment("Manhattan", 40)
    text = f"Can I bring my daughter? {uuid.uuid4().hex[:6]}"
    cid = patient_texts(demo_system, patient.phone, text)
    page = new_page()
    conv = open_conversation(page, demo_system, cid)
    expect(conv.get_by_text(text)).to_be_visible(timeout=20_000)
    answer = f"Of course. {uuid.uuid4().hex[:6]}"
    page.get_by_label("Message").fill(answer)
    page.get_by_role("button", name="Send and keep Open").click()
    mine = conv.get_by_role("listitem").filter(has_text=answer)
    # the sandbox carrier moves it queued -> sent -> delivered and calls each status back
    expect(mine.locator(".delivery")).to_have_text(" · Delivered", timeout=30_000)
    screenshot(page, "delivery-sms-delivered")
    sid = sandbox_sms(demo_system, patient.phone, answer)["provider_id"]
    moved = httpx.post(f"{demo_system.sandbox}/_sandbox/sms/{sid}/status", json={"status": "read"})
    assert moved.status_code == 200, moved.text
    expect(mine.locator(".delivery")).to_have_text(" · Read", timeout=20_000)
    screenshot(page, "delivery-sms-read")


def test_an_undelivered_sms_reply_says_why_reopens_and_retry_sends_it_once(demo_system, new_page):
    # covers I-DELIV-1, I-DELIV-2, I-DELIV-4, I-DELIV-5
    patient = demo_patient_with_upcoming_appointment("Manhattan", 41)
    # the carrier cannot reach this patient's handset (Twilio's 30003)
    outcome = {"recipient": patient.phone, "status": "undelivered", "error_code": "30003"}
    assert httpx.put(f"{demo_system.sandbox}/_sandbox/outcome", json=outcome).status_code == 200
    text = f"Is my refill ready? {uuid.uuid4().hex[:6]}"
    cid = patient_texts(demo_system, patient.phone, text)
    admin = demo_system.login(*ADMIN)

    page = new_page()
    conv = open_conversation(page, demo_system, cid)
    expect(conv.get_by_text(text)).to_be_visible(timeout=20_000)
    answer = f"Yes, ready at 3pm. {uuid.uuid4().hex[:6]}"
    page.get_by_label("Message").fill(answer)
    page.get_by_role("button", name="Send and Close").click()

    # The carrier took it, then could not deliver it: the reply says so in words
    mine = conv.get_by_role("listitem").filter(has_text=answer)
    failure = mine.locator(".delivery-failure")
    carrier = "The carrier could not deliver to this number (30003)."
    expect(failure).to_contain_text(carrier, timeout=30_000)
    expect(failure).to_contain_text("Not sent: the patient did not get this.")
    expect(mine.locator(".delivery")).to_have_text(re.compile(r" · (Failed|Not delivered)"))
    # ... and the conversation, closed once the reply was sent, is open again
    expect(page.get_by_label("Status", exact=True)).to_have_value("open")
    screenshot(page, "delivery-failed-with-reason")

    # Retry, double-clicked: sent again once, with the same text
    mine.get_by_role("button", name="Retry").dblclick()
    tries = conv.get_by_role("listitem").filter(has_text=answer)
    expect(tries).to_have_count(2, timeout=20_000)
    expect(tries.first).to_contain_text("Sent again below.")
    expect(tries.last.locator(".delivery-failure")).to_contain_text(carrier, timeout=30_000)
    expect(tries.last.get_by_role("button", name="Retry")).to_be_visible()
    page.wait_for_timeout(1500)  # a second send would have shown by now
    expect(tries).to_have_count(2)
    sent = outbound(demo_system, admin, cid, answer)
    assert len(sent) == 2 and sent[1]["details"]["retry_of"] == sent[0]["message_id"]
    expect(page.get_by_label("Status", exact=True)).to_have_value("open")
    screenshot(page, "delivery-retried")
    httpx.delete(f"{demo_system.sandbox}/_sandbox/outcome", params={"recipient": patient.phone})


def test_a_reply_the_patient_read_shows_read_live(demo_system, new_page):
    # covers I-DELIV-3
    patient = demo_patient_with_upcoming_appointment("Brooklyn", 40)
    messenger = new_page()
    patient_sign_in(messenger, demo_system, patient)
    question = f"Do I need to fast before my blood test? {uuid.uuid4().hex[:6]}"
    # Once an admin routes by reason (an earlier test file does), a new conversation's
    # patient must pick one (R-REASON-2); Other is always offered.
    pick_reason_if_asked(messenger, "Other")
    patient_send(messenger, question)
    admin = demo_system.login(*ADMIN)
    cid = find(demo_system, admin, text=question)["conversation_id"]

    staff = new_page()
    conv = open_conversation(staff, demo_system, cid)
    expect(conv.get_by_text(question)).to_be_visible(timeout=20_000)
    answer = f"Yes, nothing after midnight. {uuid.uuid4().hex[:6]}"
    staff.get_by_label("Message").fill(answer)
    # the patient has left the page: the reply is sent, not read
    messenger.close()
    staff.get_by_role("button", name="Send and keep Open").click()
    mine = conv.get_by_role("listitem").filter(has_text=answer)
    expect(mine.locator(".delivery")).to_have_text(" · Sent", timeout=20_000)

    # The patient opens the thread and reads it: the staff screen shows "Read" without a
    # reload ("sent" sorts after "read": a pick by name showed "Sent" for ever).
    again = new_page()
    patient_sign_in(again, demo_system, patient)
    expect(patient_thread(again).get_by_text(answer)).to_be_visible(timeout=20_000)
    expect(mine.locator(".delivery")).to_have_text(" · Read", timeout=20_000)
    expect(mine.locator(".delivery")).to_have_attribute("title", re.compile(r"^Read "))
    [reply] = outbound(demo_system, admin, cid, answer)
    assert set(reply["delivery"]) == {"sent", "read"}
    assert reply["delivery_state"]["state"] == "read"
    screenshot(staff, "delivery-read")
