"""The SMS / email reason menu had an API only; now an Administration tab (X-MENU-2): a practice
admin turns the menu on for one line with a 5-minute answer window, and after a reload the
screen shows what the router routes with (GET /api/admin/routing/reason-menu). Refusals show the
API's reason; staff who are not admins have no tab, and the API refuses them (403)."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect
from staff_steps import open_admin_tab, screenshot, sign_in

LINE = "+12125550001"  # the demo practice's second SMS line
NAME = f"SMS {LINE}"


def test_admin_turns_the_menu_on_for_a_line_and_sees_it_after_a_reload(demo_system, new_page):
    # covers X-MENU-2
    admin = demo_system.login("admin@demo", "demo-admin")
    url = f"{demo_system.gateway}/api/admin/routing/reason-menu"
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, demo_system, "admin@demo", "demo-admin", "/admin#reason-menu")
    try:
        open_admin_tab(page, "Reason menu")
        on = page.get_by_label(f"Send the reason menu on {NAME}")
        minutes = page.get_by_label(f"Answer window on {NAME}, minutes")
        expect(on).not_to_be_checked()  # off by default
        expect(page.get_by_label("Send the reason menu on the whole practice")).not_to_be_checked()
        on.check()
        minutes.fill("5")
        page.get_by_role("button", name=f"Save the reason menu on {NAME}").click()
        expect(page.get_by_role("status")).to_contain_text(f"Reason menu on {NAME} saved")

        # What the screen saved is what the router now routes with.
        body = httpx.get(url, headers=admin).json()
        assert {"line": LINE, "enabled": True, "window_minutes": 5} in body["lines"]
        assert body["practice"] == {"line": None, "enabled": False, "window_minutes": 10}

        page.reload()
        open_admin_tab(page, "Reason menu")
        expect(page.get_by_label(f"Send the reason menu on {NAME}")).to_be_checked()
        expect(page.get_by_label(f"Answer window on {NAME}, minutes")).to_have_value("5")
        expect(page.get_by_role("row", name=NAME)).to_contain_text("Its own")
        expect(page.get_by_label("Send the reason menu on the whole practice")).not_to_be_checked()
        screenshot(page, "admin-reason-menu-1280")

        # A window out of range and a line that is neither a number nor an address: the API's
        # reason is shown beside the row, and nothing changes.
        page.get_by_label(f"Answer window on {NAME}, minutes").fill("0")
        page.get_by_role("button", name=f"Save the reason menu on {NAME}").click()
        expect(page.get_by_role("row", name=NAME).get_by_role("alert")).to_contain_text(
            "window_minutes"
        )
        page.get_by_text("Set it for a line not listed").click()
        page.get_by_label("Line (SMS number or email address)").fill("front desk")
        page.get_by_role("button", name="Save for this line").click()
        expect(page.locator(".menu-other").get_by_role("alert")).to_contain_text(
            "a line is an SMS number (+E.164) or an email address"
        )
        screenshot(page, "admin-reason-menu-errors-1280")
        assert {"line": LINE, "enabled": True, "window_minutes": 5} in httpx.get(
            url, headers=admin
        ).json()["lines"]
    finally:
        # One demo system serves every browser test: the line's menu goes off again.
        off = {"line": LINE, "enabled": False}
        assert httpx.put(url, json=off, headers=admin, timeout=60).is_success


def test_staff_who_are_not_admins_have_no_menu_tab_and_the_api_refuses_them(demo_system, new_page):
    # covers X-MENU-2, T-2
    page = new_page()
    sign_in(page, demo_system, "front@demo", "demo-front", "/admin#reason-menu")
    expect(page.get_by_role("heading", name="My subscriptions")).to_be_visible()
    expect(page.get_by_role("tab", name="Reason menu")).to_have_count(0)
    staff = demo_system.login("front@demo", "demo-front")
    url = f"{demo_system.gateway}/api/admin/routing/reason-menu"
    read = httpx.get(url, headers=staff)
    assert read.status_code == 403
    assert read.json()["detail"] == "only practice admins manage routing"
    write = httpx.put(url, json={"line": LINE, "enabled": True}, headers=staff)
    assert write.status_code == 403
