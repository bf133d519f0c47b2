"""The patient messenger page (ingest's /patient/demo) and a secure email's page, against the
demo practice: identity by date of birth, the reason picker when the router offers reasons
(R-REASON-2), a message with an attachment that reaches staff, and the practice's replies
arriving on the open page without a reload (polling), read receipts (R-REASON-3 needs them),
and the secure message (I-REPLY-1: only a notice by email, the message on the page)."""

from __future__ import annotations

import smtplib
import struct
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from patient_steps import (
    demo_patient_with_upcoming_appointment,
    demo_patients_with_upcoming_appointment,
    fill_identity,
    patient_page_url,
    patient_send,
    patient_sign_in,
    thread,
)
from playwright.sync_api import expect
from staff_steps import screenshot, sign_in

from switchboard.ingest.domain.links import secure_link
from switchboard.ingest.settings import IngestSettings

ADMIN = ("admin@demo", "demo-admin")
REPLY_WAIT_MS = 20_000  # the page polls every 4 s; staff reply goes through Kafka first


def eventually(probe: Callable[[], Any], timeout_s: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or probe}")
        time.sleep(0.3)


def tiny_png(path: Path) -> Path:
    """A 16x16 blue PNG, made here (no image library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x0b\x5c\xad" * 16 for _ in range(16))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    path.write_bytes(png)
    return path


def find_conversation(system, auth: dict[str, str], text: str) -> dict[str, Any]:
    """The staff side's conversation holding a message with this text (search, as staff)."""

    def probe() -> dict[str, Any] | None:
        r = httpx.get(f"{system.gateway}/api/search", params={"text": text}, headers=auth)
        r.raise_for_status()
        items = r.json()["items"]
        return items[0] if items else None

    return eventually(probe, what=f"a conversation with {text!r} on the staff side")


def conversation(system, auth: dict[str, str], conversation_id: str) -> dict[str, Any]:
    r = httpx.get(f"{system.gateway}/api/conversations/{conversation_id}", headers=auth)
    r.raise_for_status()
    return r.json()


def staff_reply(system, auth, conversation_id: str, body: str, **extra) -> None:
    """Send and Close (the default) as this staff member."""
    r = httpx.post(
        f"{system.gateway}/api/conversations/{conversation_id}/reply",
        json={"body": body} | extra,
        headers=auth,
    )
    assert r.status_code == 200, r.text


def patient_token(page) -> str:
    return page.evaluate(
        "() => Object.keys(sessionStorage).filter(k => k.startsWith('sb-patient:'))"
        ".map(k => sessionStorage.getItem(k))[0]"
    )


def test_a_wrong_date_of_birth_is_refused_with_a_reason(demo_system, new_page):
    patient = demo_patient_with_upcoming_appointment("Brooklyn", 3)
    page = new_page()
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(patient_page_url(demo_system))
    expect(page.get_by_role("heading", name="Message your care team")).to_be_visible()
    expect(page.get_by_text("Demo", exact=True)).to_be_visible()  # the practice's name
    screenshot(page, "patient-sign-in")
    # Continue with nothing filled: told what is missing, nothing sent.
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("Please fill in: First name")
    wrong = patient.birth_date - timedelta(days=365)
    fill_identity(page, patient, birth_date=wrong)
    expect(page.get_by_role("alert")).to_contain_text("could not verify these details")
    expect(page.get_by_label("Date of birth")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("heading", name="Your messages")).to_be_hidden()
    screenshot(page, "patient-sign-in-refused")
    # The right date of birth lets the same patient in.
    fill_identity(page, patient)
    expect(page.get_by_role("heading", name="Your messages")).to_be_visible()
    expect(page.locator("#error")).to_be_empty()


@pytest.fixture
def reason_routing_off(demo_system) -> Iterator[None]:
    """Reason routing off (other tests on the same system may have turned it on); put back."""
    admin = demo_system.login(*ADMIN)
    base = f"{demo_system.gateway}/api/admin/routing"
    before = httpx.get(base, headers=admin).json()["reason_routing"]
    r = httpx.patch(f"{base}/settings", json={"reason_routing": False}, headers=admin)
    assert r.status_code == 200, r.text
    yield
    httpx.patch(f"{base}/settings", json={"reason_routing": before}, headers=admin)


def test_a_message_with_an_attachment_reaches_staff_and_the_reply_appears_without_reload(
    demo_system, new_page, tmp_path, reason_routing_off
):
    patient = demo_patient_with_upcoming_appointment("Queens", 3)
    page = new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    patient_sign_in(page, demo_system, patient)
    # Reason routing is off: no picker (R-REASON-2).
    expect(page.get_by_role("group", name="What is your message about?")).to_be_hidden()
    text = f"Can I bring my insurance card photo? {uuid.uuid4().hex[:8]}"
    photo = tiny_png(tmp_path / "insurance-card.png")
    patient_send(page, text, attachment=photo)
    mine = thread(page).get_by_role("listitem").filter(has_text=text)
    expect(mine.get_by_role("button", name="Download insurance-card.png")).to_be_visible()
    expect(mine.get_by_role("img", name="Picture: insurance-card.png")).to_be_visible()

    # It reaches the staff side with the patient and the file.
    admin = demo_system.login(*ADMIN)
    found = find_conversation(demo_system, admin, text)
    assert found["channel"] == "web_chat" and found["patient_id"] == patient.patient_id
    detail = conversation(demo_system, admin, found["conversation_id"])
    [inbound] = [m for m in detail["messages"] if m["body"] == text]
    assert [a["filename"] for a in inbound["attachments"]] == ["insurance-card.png"]
    assert inbound["attachments"][0]["content_type"] == "image/png"

    # Staff answer (Send and Close): it appears on the open page, no reload.
    answer = f"Yes, please bring it along. {uuid.uuid4().hex[:6]}"
    staff_reply(demo_system, admin, found["conversation_id"], answer)
    reply = thread(page).get_by_role("listitem").filter(has_text=answer)
    expect(reply).to_be_visible(timeout=REPLY_WAIT_MS)
    expect(reply).to_contain_text("Your care team")
    screenshot(page, "patient-thread-with-reply")

    # Shown on a visible page = read: the read receipt is recorded (R-REASON-3 reads it).
    token = patient_token(page)

    def read_at() -> str | None:
        r = httpx.get(
            f"{demo_system.ingest}/patient/demo/messages",
            headers={"authorization": f"Bearer {token}"},
        )
        return next(m["read_at"] for m in r.json()["messages"] if m["body"] == answer)

    eventually(read_at, what="the read receipt of the practice's reply")


@pytest.fixture
def reason_routing(demo_system) -> Iterator[None]:
    """Reason routing on, with the Queens MA subscribed to Prescriptions / Refills; the
    practice's settings and that subscription are put back afterwards."""
    admin = demo_system.login(*ADMIN)
    base = f"{demo_system.gateway}/api/admin/routing"
    before = httpx.get(base, headers=admin).json()
    staff = "u-ma-queens-1"
    old = next((s for s in before["subscriptions"] if s.get("staff_id") == staff), None)
    keep = (
        {k: list(old.get(k, [])) for k in ("reasons", "locations", "providers", "inboxes")}
        if old
        else {}
    )
    new = keep | {"reasons": sorted(set(keep.get("reasons", [])) | {"prescriptions_refills"})}
    r = httpx.put(f"{base}/subscriptions/{staff}", json=new, headers=admin)
    assert r.status_code == 200, r.text
    r = httpx.patch(f"{base}/settings", json={"reason_routing": True}, headers=admin)
    assert r.status_code == 200, r.text
    yield
    httpx.patch(
        f"{base}/settings", json={"reason_routing": before["reason_routing"]}, headers=admin
    )
    restore = keep or {"reasons": [], "locations": [], "providers": [], "inboxes": []}
    httpx.put(f"{base}/subscriptions/{staff}", json=restore, headers=admin)


def test_the_reason_picker_shows_when_the_router_offers_reasons_and_the_choice_is_kept(
    demo_system, new_page, reason_routing
):
    """covers R-REASON-2: after the date-of-birth check, a reason (only those with a
    subscriber, plus Other) must be picked before the message can be sent."""
    patient = demo_patient_with_upcoming_appointment("Queens", 4)
    page = new_page()
    patient_sign_in(page, demo_system, patient)
    picker = page.get_by_role("group", name="What is your message about?")
    expect(picker).to_be_visible()
    # Exactly the reasons the router offers: those with a subscriber (other tests on this
    # system may have subscribed staff to more), plus Other.
    admin = demo_system.login(*ADMIN)
    offered = httpx.get(f"{demo_system.gateway}/api/routing/reasons", headers=admin).json()
    labels = sorted(r["label"] for r in offered["reasons"])
    assert "Prescriptions / Refills" in labels and "Other" in labels
    expect(picker.get_by_role("radio")).to_have_count(len(labels))
    expect(picker.get_by_role("radio", name="Prescriptions / Refills")).to_be_visible()
    expect(picker.get_by_role("radio", name="Other")).to_be_visible()
    # Not picking one is refused on the page, with the reason.
    page.get_by_label("Your message", exact=True).fill("Refill please")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_have_text("Please choose what your message is about.")
    expect(thread(page).get_by_role("listitem")).to_have_count(0)
    screenshot(page, "patient-reason-picker")

    text = f"Please refill my lisinopril {uuid.uuid4().hex[:8]}"
    patient_send(page, text, reason="Prescriptions / Refills")
    admin = demo_system.login(*ADMIN)
    found = find_conversation(demo_system, admin, text)
    assert found["reason"] == "prescriptions_refills"
    detail = conversation(demo_system, admin, found["conversation_id"])
    assert [d["reason"] for d in detail["decisions"]] == ["prescriptions_refills"]
    # covers R-REASON-3: the conversation now sits in an inbox: the picker is not offered.
    expect(picker).to_be_hidden(timeout=REPLY_WAIT_MS)


def test_a_secure_email_is_read_and_answered_on_the_page(demo_system, new_page):
    """covers I-REPLY-1: a secure reply to an email goes out as a notice with a link; the
    message itself is read on the page after the date-of-birth check, and answered there."""
    patient = next(p for p in demo_patients_with_upcoming_appointment("Manhattan")[3:] if p.email)
    subject = f"Question about my results {uuid.uuid4().hex[:6]}"
    mail = EmailMessage()
    mail["From"] = f"{patient.name} <{patient.email}>"
    mail["To"] = "front@demo.switchboard.test"
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{uuid.uuid4().hex}@example.com>"
    mail.set_content("Are my lab results in?")
    smtp_port = 2525 + int(demo_system.gateway.rsplit(":", 1)[1]) - 8000
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
        smtp.send_message(mail)

    admin = demo_system.login(*ADMIN)
    found = find_conversation(demo_system, admin, "Are my lab results in?")
    assert found["patient_id"] == patient.patient_id
    secret = f"Your results are normal. {uuid.uuid4().hex[:6]}"
    # The front desk answers securely from the staff inbox.
    staff = new_page()
    sign_in(
        staff,
        demo_system,
        *ADMIN,
        f"/#inbox=all/directed&c={found['conversation_id']}",
    )
    conv = staff.get_by_role("region", name="Conversation")
    expect(conv.get_by_text("Are my lab results in?")).to_be_visible()
    staff.get_by_label("Secure email").check()
    staff.get_by_label("Message").fill(secret)
    staff.get_by_role("button", name="Send securely and Close").click()
    expect(staff.get_by_label("Status", exact=True)).to_have_value("closed", timeout=15_000)

    def sent_secure() -> str | None:
        detail = conversation(demo_system, admin, found["conversation_id"])
        out = [m for m in detail["messages"] if m["direction"] == "outbound"]
        return out[-1]["message_id"] if out else None

    message_id = eventually(sent_secure, what="the secure reply on the staff side")
    # The link the notice carries, signed with the run's own link secret (its secrets.env).
    settings = IngestSettings(
        patient_page_url=f"{demo_system.ingest}/patient", link_secret=demo_system.link_secret
    )
    link = secure_link(settings, "demo", uuid.UUID(message_id))

    page = new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(link)
    expect(page.get_by_role("heading", name="Your secure message")).to_be_visible()
    expect(page.get_by_label("Mobile number")).to_be_hidden()  # the link names the recipient
    wrong = patient.birth_date + timedelta(days=1)
    fill_identity(page, patient, birth_date=wrong, phone=False)
    expect(page.get_by_role("alert")).to_contain_text("could not verify")
    fill_identity(page, patient, phone=False)
    expect(thread(page).get_by_text(secret)).to_be_visible(timeout=REPLY_WAIT_MS)
    expect(page.get_by_role("heading", name="Reply")).to_be_visible()
    screenshot(page, "patient-secure-message")
    answer = f"Thank you! {uuid.uuid4().hex[:6]}"
    patient_send(page, answer)
    found_answer = find_conversation(demo_system, admin, answer)
    assert found_answer["conversation_id"] == found["conversation_id"]
