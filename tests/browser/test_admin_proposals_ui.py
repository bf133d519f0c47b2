"""Administration / Routing proposals (X-WHATIF-1, 1b, 1c), in a browser: an admin saves a
proposal on the screen (who would take which reasons), replays it over the last days and sees,
by name, who gains and who loses which reason x location, then applies it in one step. A second
apply, from a page still showing the proposal as not applied, is refused with the reason, and
the router records one change."""

from __future__ import annotations

import time

import httpx
from playwright.sync_api import Page, expect
from staff_steps import open_admin_tab, screenshot, sign_in

MA, BILLING = "u-ma-manhattan-1", "u-billing-1"
MA_NAME, BILLING_NAME = "Morgan MA (Manhattan)", "Bailey Billing"
NAME = "Other questions to Morgan"
FIELDS = ("reasons", "locations", "providers", "inboxes")


def _until(check, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def _routing(gw: str, admin: dict) -> dict:
    r = httpx.get(f"{gw}/api/admin/routing", headers=admin, timeout=60)
    r.raise_for_status()
    return r.json()


def _subscription(state: dict, staff_id: str) -> dict:
    mine = next((s for s in state["subscriptions"] if s["staff_id"] == staff_id), {})
    return {k: mine.get(k, []) for k in FIELDS}


def _subscribe(gw: str, admin: dict, staff_id: str, body: dict) -> None:
    url = f"{gw}/api/admin/routing/subscriptions/{staff_id}"
    r = httpx.put(url, json=body, headers=admin, timeout=60)
    assert r.is_success, r.text


def _pick(page: Page, person: str, other: bool) -> None:
    """On the proposal form: the person's reasons become Other only, or nothing."""
    page.get_by_label("Person").select_option(label=person)
    reasons = page.get_by_role("group", name="Reasons")
    for box in reasons.get_by_role("checkbox").all():
        box.uncheck()
    if other:
        reasons.get_by_label("Other", exact=True).check()
    page.get_by_role("button", name=f"Add the change for {person}").click()


def test_admin_saves_replays_and_applies_a_proposal_once(demo_system, new_page):
    # covers X-WHATIF-1, X-WHATIF-1b, X-WHATIF-1c
    gw = demo_system.gateway
    admin = demo_system.login("admin@demo", "demo-admin")
    before = _routing(gw, admin)
    # Today: routing by reason, Bailey Billing takes Other (every demo text is Other: an SMS to
    # the practice line clears the reason, R-OVERWRITE-1).
    # Location and provider off: whatever other tests (any order) left on.
    flags = {"reason_routing": True, "location_routing": False, "provider_routing": False}
    assert httpx.patch(f"{gw}/api/admin/routing/settings", json=flags, headers=admin).is_success
    _subscribe(gw, admin, BILLING, {"reasons": ["other"]})
    try:
        page = new_page()
        page.set_viewport_size({"width": 1280, "height": 900})
        sign_in(page, demo_system, "admin@demo", "demo-admin", "/admin#proposals")
        open_admin_tab(page, "Routing proposals")

        page.get_by_text("Save a new proposal").click()
        page.get_by_label("Proposal name").fill(NAME)
        expect(page.get_by_label("Route by reason")).to_contain_text("Keep as today (on)")
        expect(page.get_by_label("Route by location")).to_contain_text("Keep as today (off)")
        _pick(page, MA_NAME, other=True)
        _pick(page, BILLING_NAME, other=False)
        changes = page.get_by_role("list", name="Subscription changes")
        expect(changes).to_contain_text(f"{MA_NAME}: Other")
        expect(changes).to_contain_text(f"{BILLING_NAME}: no reasons")
        screenshot(page, "admin-proposal-form-1280")
        page.get_by_role("button", name="Save proposal").click()
        expect(page.get_by_role("status")).to_contain_text(f"Proposal {NAME} saved")
        section = page.locator("section.proposal", has=page.get_by_role("heading", name=NAME))
        expect(section).to_contain_text("Saved by Avery Admin")

        # Replayed: who gains and who loses, by name, with the combination and examples.
        section.get_by_role("button", name=f"Replay {NAME} over the last 7 days").click()
        table = section.get_by_role("table")
        gains = table.get_by_role("row", name=MA_NAME)
        losses = table.get_by_role("row", name=BILLING_NAME)
        expect(gains.locator("td").nth(0)).to_contain_text("Other \N{MULTIPLICATION SIGN}")
        expect(gains.locator("td").nth(1)).to_have_text("none")
        expect(losses.locator("td").nth(0)).to_have_text("none")
        expect(losses.locator("td").nth(1)).to_contain_text("Other \N{MULTIPLICATION SIGN}")
        expect(gains.get_by_role("link", name="Example conversation 1 of Other")).to_be_visible()
        screenshot(page, "admin-proposal-replayed-1280")

        # A second page still shows it as not applied; the first applies it.
        later = new_page()
        sign_in(later, demo_system, "admin@demo", "demo-admin", "/admin#proposals")
        open_admin_tab(later, "Routing proposals")
        late_section = later.locator(
            "section.proposal", has=later.get_by_role("heading", name=NAME)
        )
        expect(late_section.get_by_role("button", name=f"Apply {NAME} in one step")).to_be_enabled()

        section.get_by_role("button", name=f"Apply {NAME} in one step").click()
        expect(page.get_by_role("status")).to_contain_text(f"Proposal {NAME} applied")
        expect(section.get_by_role("button", name="Applied")).to_be_disabled()
        state = _routing(gw, admin)
        assert _subscription(state, MA)["reasons"] == ["other"]
        assert _subscription(state, BILLING)["reasons"] == []

        # Applied at most once: the stale page is refused with the reason, and so is the API.
        late_section.get_by_role("button", name=f"Apply {NAME} in one step").click()
        expect(late_section.get_by_role("alert")).to_contain_text("this proposal was applied at")
        proposal = next(
            p
            for p in httpx.get(f"{gw}/api/admin/routing/proposals", headers=admin).json()
            if p["name"] == NAME
        )
        again = httpx.post(
            f"{gw}/api/admin/routing/proposals/{proposal['proposal_id']}/apply", headers=admin
        )
        assert again.status_code == 409

        def one_change() -> bool:
            history = httpx.get(f"{gw}/api/admin/routing/history", headers=admin).json()
            ids = [c["event_id"] for c in history["changes"]]
            return ids.count(proposal["applied_event_id"]) == 1

        _until(one_change)
    finally:
        # One demo system serves every browser test: put back what this changed.
        for staff_id in (MA, BILLING):
            _subscribe(gw, admin, staff_id, _subscription(before, staff_id))
        flags = {k: before[k] for k in ("reason_routing", "location_routing", "provider_routing")}
        httpx.patch(f"{gw}/api/admin/routing/settings", json=flags, headers=admin, timeout=60)
