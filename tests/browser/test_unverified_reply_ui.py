"""Answering an unrecognized sender in the staff screen (X-UNREPLY-1), in Chromium against
the system `make up` starts (with the demo practice; SMS replies go to the local carrier
sandbox): while the practice has not allowed it, the reply box is closed and says why; a
practice admin allows it (Administration, "Unrecognized senders", with its history); then
the box says plainly that the sender is not verified and where the reply goes, keeps
patient placeholders out, and a reply reaches the number that wrote, from the line it wrote
to, and shows Delivered. Screenshots at 1280 and 800 px."""

from __future__ import annotations

import uuid

import httpx
from playwright.sync_api import expect
from staff_steps import screenshot, sign_in
from system_support import stranger_number
from test_delivery_ui import ADMIN, LINE, patient_texts, sandbox_sms

SETTING = "/api/admin/settings/reply-unrecognized"


def test_the_reply_box_warns_of_an_unverified_sender_and_sends_to_it(demo_system, new_page):
    # covers X-UNREPLY-1
    stranger = stranger_number("929")
    text = f"Hello, do you take walk-ins? {uuid.uuid4().hex[:6]}"
    cid = patient_texts(demo_system, stranger, text)
    admin = demo_system.login(*ADMIN)
    off = httpx.put(f"{demo_system.gateway}{SETTING}", json={"value": False}, headers=admin)
    assert off.status_code == 200, off.text

    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, demo_system, *ADMIN)
    page.goto(f"{demo_system.gateway}/#inbox=all/unrecognized&c={cid}")
    conv = page.get_by_role("region", name="Conversation")
    expect(conv.get_by_text(text)).to_be_visible(timeout=20_000)
    # not allowed: the box is closed and says why
    expect(page.locator(".reply-note")).to_contain_text("does not allow replies")
    expect(page.get_by_label("Message")).to_be_disabled()

    # a practice admin allows it in Administration; the change is listed with who made it
    page.goto(f"{demo_system.gateway}/admin#unrecognized")
    page.get_by_label("Allow replies to unrecognized senders").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("list", name="Changes").get_by_role("listitem").first).to_contain_text(
        "Allowed by u-admin"
    )
    expect(page.get_by_label("Allow replies to unrecognized senders")).to_be_checked()
    screenshot(page, "unverified-reply-admin-setting")
    page.goto(f"{demo_system.gateway}/#inbox=all/unrecognized&c={cid}")
    expect(conv.get_by_text(text)).to_be_visible(timeout=20_000)
    warning = page.get_by_role("note", name="Sender not verified")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Sender not verified.")
    expect(warning).to_contain_text(f"goes only to {stranger}")
    expect(page.get_by_label("Message")).to_be_enabled()
    expect(page.get_by_label("Send from")).to_be_hidden()  # only the line it wrote to
    screenshot(page, "unverified-reply-box-1280")
    page.set_viewport_size({"width": 800, "height": 900})
    expect(warning).to_be_visible()
    screenshot(page, "unverified-reply-box-800")
    page.set_viewport_size({"width": 1280, "height": 900})

    # a patient placeholder is kept out before anything is sent
    page.get_by_label("Message").fill("Hi {{first_name}}, yes we do.")
    page.get_by_role("button", name="Send and keep Open").click()
    expect(page.get_by_text("remove {{first_name}} first")).to_be_visible()

    answer = f"Yes, walk-ins until 4pm. {uuid.uuid4().hex[:6]}"
    page.get_by_label("Message").fill(answer)
    page.get_by_role("button", name="Send and keep Open").click()
    mine = conv.get_by_role("listitem").filter(has_text=answer)
    expect(mine.locator(".delivery")).to_have_text(" · Delivered", timeout=30_000)
    sent = sandbox_sms(demo_system, stranger, answer)
    assert sent["sender"] == LINE and sent["recipient"] == stranger
    screenshot(page, "unverified-reply-sent-1280")
    page.set_viewport_size({"width": 800, "height": 900})
    expect(mine).to_be_visible()
    screenshot(page, "unverified-reply-sent-800")
