"""The patient page tells the patient what to expect before they write (X-PATIENTPAGE-1): an
emergency notice, how soon the practice usually replies (its response target), its office
hours in its time zone, and, in the reason picker, a line about each reason and what to pick
when none fits (Other)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from patient_steps import demo_patient_with_upcoming_appointment, patient_page_url, patient_sign_in
from playwright.sync_api import expect
from staff_steps import screenshot

ADMIN = ("admin@demo", "demo-admin")
STAFF = "u-ma-brooklyn-1"
OFFICE = {
    "sla_minutes": 120,
    "timezone": "America/Chicago",
    "business_hours": [{"weekday": d, "start": "08:30", "end": "17:30"} for d in range(5)]
    + [{"weekday": 5, "start": "09:00", "end": "12:00"}],
    "holidays": ["2999-12-25"],
}


def _until(check, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


@pytest.fixture
def office_and_reasons(demo_system) -> Iterator[None]:
    """The practice's response target and hours set, reason routing on with a Brooklyn MA
    subscribed to Billing (so the picker shows); each put back afterwards."""
    admin = demo_system.login(*ADMIN)
    settings_url = f"{demo_system.gateway}/api/notify/practice-settings"
    before = httpx.get(settings_url, headers=admin).json()
    before.pop("configured")
    httpx.put(settings_url, json=before | OFFICE, headers=admin).raise_for_status()
    base = f"{demo_system.gateway}/api/admin/routing"
    routing = httpx.get(base, headers=admin).json()
    old = next((s for s in routing["subscriptions"] if s.get("staff_id") == STAFF), None)
    keep = (
        {k: list(old.get(k, [])) for k in ("reasons", "locations", "providers", "inboxes")}
        if old
        else {}
    )
    new = keep | {"reasons": sorted(set(keep.get("reasons", [])) | {"billing"})}
    httpx.put(f"{base}/subscriptions/{STAFF}", json=new, headers=admin).raise_for_status()
    r = httpx.patch(f"{base}/settings", json={"reason_routing": True}, headers=admin)
    assert r.status_code == 200, r.text
    page_info = f"{demo_system.ingest}/patient/demo/practice"
    _until(lambda: (httpx.get(page_info).json().get("office") or {}).get("response_minutes") == 120)
    yield
    was = {"reason_routing": routing["reason_routing"]}
    httpx.patch(f"{base}/settings", json=was, headers=admin)
    restore = keep or {"reasons": [], "locations": [], "providers": [], "inboxes": []}
    httpx.put(f"{base}/subscriptions/{STAFF}", json=restore, headers=admin)
    httpx.put(settings_url, json=before, headers=admin)


def test_the_page_shows_the_notice_response_time_hours_and_reason_descriptions(
    demo_system, new_page, office_and_reasons
):
    # covers X-PATIENTPAGE-1, R-REASON-2
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(patient_page_url(demo_system))
    notice = page.get_by_role("note", name="Emergencies")
    expect(notice).to_contain_text("If this is an emergency, call 911")
    office = page.get_by_role("region", name="When we reply")
    expect(office).to_contain_text("We usually reply within 2 hours during business hours.")
    hours = page.locator("#hours-list li")
    expect(hours).to_have_text(
        ["Mon\u2013Fri: 8:30 AM \u2013 5:30 PM", "Sat: 9:00 AM \u2013 12:00 PM", "Sun: closed"]
    )
    expect(page.locator("#hours-zone")).to_contain_text("Central")
    expect(page.locator("#holidays")).to_contain_text("Closed on")
    for width in (1280, 800):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"patient-page-office-{width}")

    patient = demo_patient_with_upcoming_appointment("Brooklyn", 41)
    page.set_viewport_size({"width": 1280, "height": 900})
    patient_sign_in(page, demo_system, patient)
    picker = page.get_by_role("group", name="What is your message about?")
    expect(picker).to_be_visible()
    billing = picker.locator("label", has_text="Billing")
    expect(billing).to_contain_text("Bills, payments, insurance and costs.")
    other = picker.locator("label", has_text="Other")
    expect(other).to_contain_text("not sure")
    expect(picker).to_contain_text("Not sure which to choose? Pick Other")
    # The notice stays on the page after sign-in.
    expect(notice).to_be_visible()
    for width in (1280, 800):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"patient-page-reasons-{width}")
