"""Administration screens: the seed's set-up steps (routing settings, Sync with EHR,
subscriptions with the coverage warning, voicemail extensions, lines, templates,
notifications), as a practice admin and as staff (R-SUB-1, R-SUB-3, X-COVERAGE-1, I-LINE-1)."""

from __future__ import annotations

import time

import httpx
from playwright.sync_api import expect
from staff_steps import open_admin_tab, screenshot, sign_in

MA = "u-ma-manhattan-1"
RX = "prescriptions_refills"


def _routing(system, headers) -> dict:
    r = httpx.get(f"{system.gateway}/api/admin/routing", headers=headers)
    r.raise_for_status()
    return r.json()


def _gaps(system, headers) -> set[tuple[str | None, str | None]]:
    r = httpx.get(f"{system.gateway}/api/admin/routing/coverage", headers=headers)
    r.raise_for_status()
    return {(g["reason"], g["location"]) for g in r.json()["gaps"]}


def _until(check, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_admin_enables_reason_routing_and_subscribes_the_manhattan_ma(demo_system, new_page):
    """Seed step 6's start: reason routing on, Morgan MA (Manhattan) subscribed to
    Prescriptions / Refills at Manhattan; the coverage warning follows (X-COVERAGE-1)."""
    admin = demo_system.login("admin@demo", "demo-admin")
    page = new_page()
    sign_in(page, demo_system, "admin@demo", "demo-admin", "/admin")
    expect(page.get_by_role("heading", name="Administration", level=1)).to_be_visible()
    expect(page.get_by_role("tab", name="Routing settings")).to_have_attribute(
        "aria-selected", "true"
    )
    page.get_by_role("checkbox", name="Route by reason").check()
    page.get_by_role("checkbox", name="Route by location").check()
    page.get_by_role("button", name="Save routing settings").click()
    expect(page.get_by_role("status")).to_contain_text("Routing settings saved")
    state = _routing(demo_system, admin)
    assert state["reason_routing"] is True and state["location_routing"] is True
    screenshot(page, "admin-routing-settings")

    # Keyboard: arrow keys move between tabs (WAI-ARIA tabs).
    page.get_by_role("tab", name="Routing settings").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Subscriptions")).to_be_focused()
    expect(page.get_by_role("tab", name="Subscriptions")).to_have_attribute("aria-selected", "true")
    coverage = page.locator(".coverage")
    # nobody subscribes yet: a warning, never a green "covered" (I-COVERAGE-1)
    expect(coverage).to_contain_text("nobody is subscribed")
    before = _gaps(demo_system, admin)
    assert (RX, "loc-manhattan") not in before  # nobody subscribes: the reason is not offered

    page.get_by_label("Staff member").select_option(label="Morgan MA (Manhattan)")
    page.get_by_role("group", name="Reasons").get_by_label("Prescriptions / Refills").check()
    page.get_by_role("group", name="Locations").get_by_label("Manhattan").check()
    page.get_by_role("button", name="Save subscriptions").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Subscriptions of Morgan MA (Manhattan) saved"
    )
    # Through the API: the subscription as chosen, and the coverage that follows from it.
    sub = next(s for s in _routing(demo_system, admin)["subscriptions"] if s["staff_id"] == MA)
    assert sub["reasons"] == [RX] and sub["locations"] == ["loc-manhattan"]
    after = _gaps(demo_system, admin)
    assert (RX, "loc-manhattan") not in after
    assert {(RX, "loc-brooklyn"), (RX, "loc-queens"), (RX, "location_unknown")} <= after
    warning = page.get_by_role("list", name="Combinations nobody receives")
    expect(warning).to_contain_text("Prescriptions / Refills \N{MULTIPLICATION SIGN} Brooklyn")
    expect(warning).to_contain_text("Prescriptions / Refills \N{MULTIPLICATION SIGN} Queens")
    expect(warning).not_to_contain_text("Prescriptions / Refills \N{MULTIPLICATION SIGN} Manhattan")
    expect(
        page.get_by_text("Morgan MA (Manhattan): Prescriptions / Refills at Manhattan")
    ).to_be_visible()
    screenshot(page, "admin-subscriptions-coverage")


def test_staff_edit_only_their_own_subscriptions(demo_system, new_page):
    """R-SUB-3: a staff member changes their own subscriptions, never someone else's."""
    page = new_page()
    page.on("console", lambda m: print("console:", m.text))
    page.on("pageerror", lambda e: print("pageerror:", e))
    sign_in(page, demo_system, "front@demo", "demo-front", "/admin")
    expect(page.get_by_role("heading", name="My subscriptions")).to_be_visible()
    expect(page.get_by_role("tablist")).to_have_count(0)
    expect(page.get_by_text("managed by practice admins")).to_be_visible()
    expect(page.get_by_role("button", name="Save subscriptions")).to_be_visible(timeout=30_000)
    page.get_by_role("group", name="Reasons").get_by_label("Billing").check()
    page.get_by_role("button", name="Save subscriptions").click()
    expect(page.get_by_role("status")).to_contain_text("Your subscriptions saved")
    screenshot(page, "admin-staff-own-subscriptions")
    admin = demo_system.login("admin@demo", "demo-admin")
    mine = next(
        s for s in _routing(demo_system, admin)["subscriptions"] if s["staff_id"] == "u-front-1"
    )
    assert mine["reasons"] == ["billing"]

    def ma_subscription() -> dict | None:
        subs = _routing(demo_system, admin)["subscriptions"]
        return next((s for s in subs if s["staff_id"] == MA), None)

    before = ma_subscription()  # whatever other tests (any order) left it
    # Someone else's: refused, with the reason, from the same signed-in page.
    status, detail = page.evaluate(
        """async (id) => {
          const r = await fetch(`/api/admin/routing/subscriptions/${id}`, {
            method: 'PUT',
            headers: {'content-type': 'application/json',
                      authorization: `Bearer ${sessionStorage.getItem('switchboard.token')}`},
            body: JSON.stringify({reasons: ['billing']}) });
          return [r.status, (await r.json()).detail];
        }""",
        MA,
    )
    assert status == 403 and "other people" in detail
    assert ma_subscription() == before  # unchanged
    # and the admin-only reads stay closed to staff
    front = demo_system.login("front@demo", "demo-front")
    assert httpx.get(f"{demo_system.gateway}/api/admin/routing", headers=front).status_code == 403


def test_template_with_an_unknown_placeholder_is_refused_with_the_reason(demo_system, new_page):
    page = new_page()
    sign_in(page, demo_system, "admin@demo", "demo-admin", "/admin#templates")
    expect(page.get_by_role("tab", name="Templates")).to_have_attribute("aria-selected", "true")
    page.get_by_role("button", name="New template").click()
    page.get_by_label("Name", exact=True).fill("Refill ready")
    page.get_by_label("Text", exact=True).fill("Hi {{firstname}}, your refill is ready.")
    page.get_by_role("button", name="Save template").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("unknown placeholder {{firstname}}")
    screenshot(page, "admin-template-refused")
    # Fix it with the placeholder buttons; the preview fills the sample patient.
    page.get_by_label("Text", exact=True).fill("Hi , your refill is ready at .")
    page.get_by_label("Text", exact=True).evaluate("t => t.setSelectionRange(3, 3)")
    page.get_by_role("button", name="Insert placeholder first_name").click()
    page.get_by_label("Text", exact=True).evaluate(
        "t => t.setSelectionRange(t.value.length - 1, t.value.length - 1)"
    )
    page.get_by_role("button", name="Insert placeholder location").click()
    expect(page.locator("#tpl-preview")).to_have_text("Hi Ana, your refill is ready at Manhattan.")
    screenshot(page, "admin-template-preview")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_role("status")).to_contain_text("Template Refill ready saved")
    row = page.get_by_role("row").filter(has_text="Refill ready")
    expect(row).to_contain_text("Hi {{first_name}}, your refill is ready at {{location}}.")
    front = demo_system.login("front@demo", "demo-front")
    listed = httpx.get(f"{demo_system.gateway}/api/templates", headers=front).json()["templates"]
    assert [t["body"] for t in listed] == [
        "Hi {{first_name}}, your refill is ready at {{location}}."
    ]
    screenshot(page, "admin-templates")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Delete Refill ready").click()
    expect(page.get_by_text("No templates yet.")).to_be_visible()


def test_other_sections(demo_system, new_page):
    """Sync with EHR, voicemail extensions, line labels and notifications, each a screen."""
    admin = demo_system.login("admin@demo", "demo-admin")
    page = new_page()
    sign_in(page, demo_system, "admin@demo", "demo-admin", "/admin")

    open_admin_tab(page, "Sync with EHR")
    page.get_by_role("button", name="Sync with EHR").click()
    expect(page.get_by_text("Synced 3 locations and 10 providers")).to_be_visible(timeout=30_000)
    screenshot(page, "admin-ehr-sync")

    open_admin_tab(page, "Voicemail extensions")
    page.get_by_role("textbox", name="Extension").fill("2")
    page.get_by_label("Send to").select_option(label="Prescriptions / Refills")
    page.get_by_role("button", name="Map extension").click()
    expect(page.get_by_role("cell", name="Prescriptions / Refills")).to_be_visible()
    assert _routing(demo_system, admin)["voicemail_extensions"] == {"2": RX}
    screenshot(page, "admin-voicemail")

    open_admin_tab(page, "Sending lines")
    label = page.get_by_role("textbox", name="Label for SMS +12125550001")
    expect(label).to_have_value("Billing")
    label.fill("Billing office")
    page.get_by_role("button", name="Save label for SMS +12125550001").click()
    expect(page.get_by_role("status")).to_contain_text("Label of SMS +12125550001 saved")
    lines = httpx.get(f"{demo_system.gateway}/api/lines", headers=admin).json()["lines"]
    assert {"channel": "sms", "address": "+12125550001", "label": "Billing office"} in lines
    screenshot(page, "admin-lines")

    # Notifications: settings set through the API first (targets, hours, front line) are
    # shown, and saving only the link target from the screen keeps all of them.
    before = {
        "link_target": "inbox",
        "sla_minutes": 90,
        "sla_by_reason": [{"reason": RX, "minutes": 30}],
        "timezone": "America/New_York",
        "business_hours": [{"weekday": 0, "start": "09:00", "end": "17:00"}],
        "holidays": ["2026-12-25"],
        "front_line_staff_ids": ["u-front-1"],
        "escalation_reassign_to": None,
        "coalesce_seconds": 120,
    }
    url = f"{demo_system.gateway}/api/notify/practice-settings"
    httpx.put(url, json=before, headers=admin).raise_for_status()
    _until(lambda: httpx.get(url, headers=admin).json() == before | {"configured": True})
    open_admin_tab(page, "Notifications")
    expect(page.get_by_role("radio", name="The conversation in the inbox")).to_be_checked()
    expect(page.get_by_role("spinbutton", name="Response target in minutes")).to_have_value("90")
    # The time zone is picked from a list under Office hours (test_admin_office_hours.py).
    expect(page.get_by_role("list", name="Also set")).to_contain_text("Time zone: America/New_York")
    expect(page.get_by_role("list", name="Also set")).to_contain_text(
        "Prescriptions / Refills 30 min"
    )
    expect(page.get_by_text("Saving replaces")).to_have_count(0)
    page.get_by_role("radio", name="The patient's page").check()
    page.get_by_role("button", name="Save notification settings").click()
    expect(page.get_by_role("status")).to_contain_text("Notification settings saved")
    after = before | {"link_target": "patient_page", "configured": True}
    _until(lambda: httpx.get(url, headers=admin).json()["link_target"] == "patient_page")
    assert httpx.get(url, headers=admin).json() == after
    # staff cannot read them
    front = demo_system.login("front@demo", "demo-front")
    assert httpx.get(url, headers=front).status_code == 403
    screenshot(page, "admin-notifications")
