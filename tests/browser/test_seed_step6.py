"""The seed's "Step 6: Test it out!" end to end in a real browser, on the system as `make up`
starts it: an admin turns on routing by reason and subscribes a medical assistant to
Prescriptions / Refills at one location (R-REASON-1, R-SUB-1); a patient with an upcoming
appointment there writes through the messenger, choosing that reason (R-REASON-2, R-LOC-1);
the medical assistant sees it arrive without reloading, labeled with reason and location
(I-LIVE-1, R-LABEL-1), while a second staff member who opens it shows as viewing, then
typing; "Send and Close" closes it and the patient sees the reply (I-REPLY-1, I-STATUS-1)."""

from __future__ import annotations

import re
import time

from patient_steps import demo_patient_with_upcoming_appointment, patient_send, patient_sign_in
from patient_steps import thread as patient_thread
from playwright.sync_api import expect
from staff_steps import screenshot, sign_in

REASON = "Prescriptions / Refills"
LOCATION = "Manhattan"
MA = ("ma.manhattan@demo", "demo-ma", "Morgan MA (Manhattan)")


def test_step6_reason_and_location_routing_seen_live(demo_system, new_page):
    # 1. The admin sets it up on the administration screens.
    admin = new_page()
    sign_in(admin, demo_system, "admin@demo", "demo-admin", "/admin")
    admin.get_by_role("tab", name="Routing settings").click()
    admin.get_by_role("checkbox", name="Route by reason").check()
    admin.get_by_role("checkbox", name="Route by location").check()
    admin.get_by_role("button", name="Save routing settings").click()
    expect(admin.get_by_role("status")).to_contain_text("Routing settings saved")
    admin.get_by_role("tab", name="Subscriptions").click()
    admin.get_by_label("Staff member").select_option(label=MA[2])
    admin.get_by_role("group", name="Reasons").get_by_label(REASON).check()
    admin.get_by_role("group", name="Locations").get_by_label(LOCATION).check()
    admin.get_by_role("button", name="Save subscriptions").click()
    expect(admin.get_by_role("status")).to_contain_text(f"Subscriptions of {MA[2]} saved")
    expect(admin.get_by_text(f"{MA[2]}: {REASON} at {LOCATION}")).to_be_visible()
    screenshot(admin, "step6-admin-subscriptions")

    # 2. The medical assistant has their inbox open, before the patient writes.
    ma = new_page()
    sign_in(ma, demo_system, MA[0], MA[1], "/#inbox=my/routed")
    expect(ma.locator("#list-summary")).to_be_visible()
    ma.evaluate("window.__notReloaded = true")
    ma.wait_for_timeout(1500)  # the live socket is open and its relay positioned

    # 3. A patient with an upcoming appointment there writes through the messenger.
    patient = demo_patient_with_upcoming_appointment(LOCATION)
    messenger = new_page()
    patient_sign_in(messenger, demo_system, patient)
    text = "Could you renew my blood pressure prescription? I am almost out."
    started = time.monotonic()
    patient_send(messenger, text, reason=REASON)

    # 4. It appears in the medical assistant's inbox without a reload, with its labels.
    row = ma.get_by_role("link", name=re.compile(re.escape(patient.name)))
    expect(row.first).to_be_visible(timeout=15_000)
    arrived = time.monotonic() - started
    print(f"\nmessenger send -> medical assistant's open inbox: {arrived * 1000:.0f} ms")
    assert ma.evaluate("window.__notReloaded") is True
    expect(row.first).to_contain_text(REASON)
    expect(row.first).to_contain_text(LOCATION)
    row.first.click()
    conversation = ma.get_by_role("region", name="Conversation")
    expect(conversation.get_by_role("heading", name=patient.name)).to_be_visible()
    expect(conversation.get_by_text(text)).to_be_visible()
    screenshot(ma, "step6-ma-inbox")

    # 5. A second staff member opens the same conversation: viewing, then typing.
    cid = re.search(r"c=([0-9a-f-]{36})", ma.url).group(1)
    admin.goto(f"{demo_system.gateway}/#inbox=all/directed&c={cid}")
    expect(
        admin.get_by_role("region", name="Conversation").get_by_role("heading", name=patient.name)
    ).to_be_visible()
    presence = ma.locator("#presence")
    expect(presence).to_have_text("Avery Admin is viewing", timeout=10_000)
    admin.get_by_label("Message").press_sequentially("Checking the chart", delay=40)
    expect(presence).to_have_text("Avery Admin is typing…", timeout=10_000)
    screenshot(ma, "step6-ma-presence")

    # 6. The medical assistant answers with "Send and Close"; the patient sees the reply.
    reply = "Your prescription has been renewed and sent to your pharmacy."
    ma.get_by_label("Message").fill(reply)
    ma.get_by_role("button", name="Send and Close").click()
    expect(ma.get_by_label("Status", exact=True)).to_have_value("closed", timeout=15_000)
    expect(patient_thread(messenger).get_by_text(reply)).to_be_visible(timeout=15_000)
    screenshot(messenger, "step6-patient-sees-reply")
