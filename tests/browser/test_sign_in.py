"""Signing in to the staff UI (the shell every screen lives in)."""

from __future__ import annotations

from playwright.sync_api import expect
from staff_steps import screenshot, sign_in


def test_wrong_password_is_refused_with_a_reason(demo_system, new_page):
    page = new_page()
    page.goto(demo_system.gateway + "/")
    page.get_by_label("Username").fill("front@demo")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("status")).to_contain_text("wrong password")
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()


def test_admin_sees_the_administration_link_and_front_desk_does_not(demo_system, new_page):
    admin = new_page()
    sign_in(admin, demo_system, "admin@demo", "demo-admin")
    expect(admin.get_by_role("link", name="Administration")).to_be_visible()
    screenshot(admin, "signed-in-admin")
    front = new_page()
    sign_in(front, demo_system, "front@demo", "demo-front")
    expect(front.get_by_role("link", name="Administration")).to_be_hidden()
