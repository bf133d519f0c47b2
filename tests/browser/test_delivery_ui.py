"""A reply's delivery on the staff screen, in Chromium against the system `make up` starts
(with the demo practice, and no SMS provider): an SMS reply that fails says why in words,
leaves the conversation open and is sent again by Retry, once however often it is clicked;
a messenger reply the patient reads shows "Read", live, though "Sent" came first and sorts
after it by name."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
from patient_steps import demo_patient_with_upcoming_appointment, patient_send, patient_sign_in
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


def test_a_failed_sms_reply_says_why_stays_open_and_retry_sends_it_once(demo_system, new_page):
    # covers I-DELIV-1, I-DELIV-2, I-DELIV-4, I-DELIV-5
    patient = demo_patient_with_upcoming_appointment("Manhattan", 5)
    text = f"Is my refill ready? {uuid.uuid4().hex[:6]}"
    url = f"{demo_system.ingest}/webhooks/twilio/sms/demo"
    params = {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "From": patient.phone,
        "To": LINE,
        "Body": text,
    }
    r = httpx.post(
        url,
        data=params,
        headers={"X-Twilio-Signature": signature(demo_system.twilio_token, url, params)},
    )
    assert r.status_code == 200, r.text
    admin = demo_system.login(*ADMIN)
    cid = find(demo_system, admin, text=text)["conversation_id"]

    page = new_page()
    conv = open_conversation(page, demo_system, cid)
    expect(conv.get_by_text(text)).to_be_visible(timeout=20_000)
    answer = f"Yes, ready at 3pm. {uuid.uuid4().hex[:6]}"
    page.get_by_label("Message").fill(answer)
    page.get_by_role("button", name="Send and Close").click()

    # No SMS provider under `make up`: the reply fails, and says so in words
    mine = conv.get_by_role("listitem").filter(has_text=answer)
    failure = mine.locator(".delivery-failure")
    expect(failure).to_contain_text(
        "No SMS provider is configured for this practice.", timeout=20_000
    )
    expect(failure).to_contain_text("Not sent: the patient did not get this.")
    expect(mine.locator(".delivery")).to_have_text(" · Failed")
    expect(page.get_by_role("status").first).to_contain_text("Not sent: No SMS provider")
    # ... and the conversation was never closed: it stays in the open queue
    expect(page.get_by_label("Status", exact=True)).to_have_value("open")
    screenshot(page, "delivery-failed-with-reason")

    # Retry, double-clicked: sent again once, with the same text
    mine.get_by_role("button", name="Retry").dblclick()
    tries = conv.get_by_role("listitem").filter(has_text=answer)
    expect(tries).to_have_count(2, timeout=20_000)
    expect(tries.first).to_contain_text("Sent again below.")
    expect(tries.last.locator(".delivery-failure")).to_contain_text(
        "No SMS provider is configured for this practice.", timeout=20_000
    )
    expect(tries.last.get_by_role("button", name="Retry")).to_be_visible()
    page.wait_for_timeout(1500)  # a second send would have shown by now
    expect(tries).to_have_count(2)
    sent = outbound(demo_system, admin, cid, answer)
    assert len(sent) == 2 and sent[1]["details"]["retry_of"] == sent[0]["message_id"]
    expect(page.get_by_label("Status", exact=True)).to_have_value("open")
    screenshot(page, "delivery-retried")


def test_a_reply_the_patient_read_shows_read_live(demo_system, new_page):
    # covers I-DELIV-3
    patient = demo_patient_with_upcoming_appointment("Brooklyn", 5)
    messenger = new_page()
    patient_sign_in(messenger, demo_system, patient)
    question = f"Do I need to fast before my blood test? {uuid.uuid4().hex[:6]}"
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
