"""Notification settings that had only an API now have admin screens (X-NOTIFYADMIN-1): an
admin sets business hours per weekday, a holiday and the time zone picked from a list (not
typed), then escalation targets and an alert webhook; the API reflects each change."""

from __future__ import annotations

import time

import httpx
from playwright.sync_api import Page, expect
from staff_steps import open_admin_tab, screenshot, sign_in

RX = "prescriptions_refills"


def _until(check, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def _both_widths(page: Page, name: str) -> None:
    for width in (1280, 800):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_admin_sets_hours_per_weekday_a_holiday_and_a_listed_time_zone(demo_system, new_page):
    # covers X-NOTIFYADMIN-1, X-SLA-1
    admin = demo_system.login("admin@demo", "demo-admin")
    url = f"{demo_system.gateway}/api/notify/practice-settings"
    page = new_page()
    sign_in(page, demo_system, "admin@demo", "demo-admin", "/admin#hours")
    open_admin_tab(page, "Office hours")

    # The time zone is picked from the server's list by searching it: nothing typed is saved.
    page.get_by_label("Find a time zone").fill("chicago")
    zones = page.get_by_role("listbox", name="Time zones")
    expect(zones.get_by_role("option")).to_have_count(1)
    zones.select_option("America/Chicago")
    expect(page.locator(".tz-chosen")).to_have_text("Selected: America/Chicago")
    page.get_by_label("Find a time zone").fill("nowhere-at-all")
    expect(page.get_by_text("No time zone matches")).to_be_visible()

    # Monday 08:30-17:30, copied to Tuesday-Friday; Saturday morning; Sunday closed.
    removes = page.get_by_role("button", name="Remove these")
    while removes.count():
        removes.first.click()
    page.get_by_role("button", name="Add hours on Monday").click()
    page.get_by_label("Monday opens at").fill("08:30")
    page.get_by_label("Monday closes at").fill("17:30")
    page.get_by_role("button", name="Copy Monday to Tuesday").click()
    page.get_by_role("button", name="Add hours on Saturday").click()
    page.get_by_label("Saturday opens at").fill("09:00")
    page.get_by_label("Saturday closes at").fill("12:00")
    expect(page.get_by_role("row", name="Sunday")).to_contain_text("Closed")

    page.get_by_label("Date").fill("2026-12-25")
    page.get_by_role("button", name="Add holiday").click()
    expect(page.get_by_role("list", name="Holidays")).to_contain_text("Dec")
    page.get_by_role("button", name="Save office hours").click()
    expect(page.get_by_role("status")).to_contain_text("Office hours saved")

    want_hours = [{"weekday": d, "start": "08:30", "end": "17:30"} for d in range(5)] + [
        {"weekday": 5, "start": "09:00", "end": "12:00"}
    ]

    def saved() -> bool:
        s = httpx.get(url, headers=admin).json()
        return s["timezone"] == "America/Chicago" and s["business_hours"] == want_hours

    _until(saved)
    assert "2026-12-25" in httpx.get(url, headers=admin).json()["holidays"]
    # A zone not on the list is refused by the API too.
    bad = httpx.get(url, headers=admin).json()
    bad.pop("configured")
    r = httpx.put(url, json=bad | {"timezone": "posix/Europe/Paris"}, headers=admin)
    assert r.status_code == 422

    page.reload()
    open_admin_tab(page, "Office hours")
    expect(page.locator(".tz-chosen")).to_have_text("Selected: America/Chicago")
    expect(page.get_by_label("Friday closes at")).to_have_value("17:30")
    _both_widths(page, "admin-office-hours")


def test_admin_sets_escalation_and_an_alert_webhook(demo_system, new_page):
    # covers X-NOTIFYADMIN-1, X-SLA-1, I-NOTIFY-1
    admin = demo_system.login("admin@demo", "demo-admin")
    url = f"{demo_system.gateway}/api/notify/practice-settings"
    page = new_page()
    sign_in(page, demo_system, "admin@demo", "demo-admin", "/admin#escalation")
    open_admin_tab(page, "Escalation")
    page.get_by_label("Response target for Prescriptions / Refills, minutes").fill("45")
    reassign = page.get_by_label("Reassign an overdue conversation to")
    choice = reassign.locator("option").nth(1)
    staff_id = choice.get_attribute("value")
    reassign.select_option(staff_id)
    page.get_by_label("Combine alerts about one conversation within (seconds)").fill("90")
    page.get_by_role("button", name="Save escalation").click()
    expect(page.get_by_role("status")).to_contain_text("Escalation saved")

    def saved() -> bool:
        s = httpx.get(url, headers=admin).json()
        return (
            {"reason": RX, "minutes": 45} in s["sla_by_reason"]
            and s["escalation_reassign_to"] == staff_id
            and s["coalesce_seconds"] == 90
        )

    _until(saved)
    _both_widths(page, "admin-escalation")

    open_admin_tab(page, "Alert webhooks")
    page.get_by_label("Id", exact=True).fill("ehr-alerts")
    page.get_by_label("URL", exact=True).fill("http://127.0.0.1:9/hook")
    page.get_by_role("button", name="Add webhook").click()
    expect(page.locator(".secret code")).not_to_be_empty()
    hooks = f"{demo_system.gateway}/api/notify/webhooks"
    _until(
        lambda: (
            {"subscription_id": "ehr-alerts", "url": "http://127.0.0.1:9/hook"}
            in httpx.get(hooks, headers=admin).json()["webhooks"]
        )
    )
    page.get_by_role("tab", name="Escalation").click()
    open_admin_tab(page, "Alert webhooks")
    expect(page.get_by_role("table")).to_contain_text("ehr-alerts")
    _both_widths(page, "admin-webhooks")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Remove webhook ehr-alerts").click()
    expect(page.get_by_role("status")).to_contain_text("Webhook ehr-alerts removed")
    _until(lambda: httpx.get(hooks, headers=admin).json()["webhooks"] == [])


def test_admin_rewords_the_line_patients_see_under_a_reason(demo_system, new_page):
    # covers X-PATIENTPAGE-1
    admin = demo_system.login("admin@demo", "demo-admin")
    routing = f"{demo_system.gateway}/api/admin/routing"
    page = new_page()
    sign_in(page, demo_system, "admin@demo", "demo-admin", "/admin#reason-descriptions")
    open_admin_tab(page, "Reason descriptions")
    box = page.get_by_label("Referrals", exact=True)
    expect(box).to_have_value("A referral to a specialist, or its status.")
    box.fill("Referrals to specialists, and where yours stands.")
    page.get_by_role("button", name="Save description of Referrals").click()
    expect(page.get_by_role("status")).to_contain_text("Description of Referrals")

    def described(text: str) -> bool:
        reasons = httpx.get(routing, headers=admin).json()["reasons"]
        return {r["code"]: r["description"] for r in reasons}["referrals"] == text

    _until(lambda: described("Referrals to specialists, and where yours stands."))
    _both_widths(page, "admin-reason-descriptions")
    # Cleared: the default comes back.
    page.get_by_label("Referrals", exact=True).fill("")
    page.get_by_role("button", name="Save description of Referrals").click()
    _until(lambda: described("A referral to a specialist, or its status."))
