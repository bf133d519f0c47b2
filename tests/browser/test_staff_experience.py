"""The staff screens as a front desk, a medical assistant and a practice admin use them
(issue 18): "Why was this routed here?" reads as a sentence with names (rule ids only in the
admins' details); coverage is honest in every state and the reason list says which reasons
patients are offered; everyone lands on their first inbox with open work; no empty strip,
no meaningless filter, no "(null)" zone, Escape closes popups, a favicon, and the screens
work at 800 px. Screenshots of each screen at 1280 and 800 px go to artifacts/screenshots/.

Runs on the shared demo system after the other browser files (file order): it sets the
routing it needs itself."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
from patient_steps import (
    demo_patients_with_upcoming_appointment,
    demo_practice,
    patient_send,
    patient_sign_in,
)
from playwright.sync_api import Page, expect
from staff_steps import open_admin_tab, screenshot, sign_in

REASON = "Prescriptions / Refills"
MA = ("ma.manhattan@demo", "demo-ma", "Morgan MA (Manhattan)", "u-ma-manhattan-1")
OPERATOR = "Pat Platform Operator"
WIDE, NARROW = 1280, 800


def both_widths(page: Page, name: str) -> None:
    """Screenshots at 1280 and 800 px wide; the page must not scroll sideways at either."""
    for width in (WIDE, NARROW):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(200)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{name} scrolls sideways by {overflow}px at {width}px"
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size({"width": WIDE, "height": 900})


def routing(system, admin: dict[str, str], **dims: bool) -> dict:
    body = {"reason_routing": False, "location_routing": False, "provider_routing": False}
    r = httpx.patch(
        f"{system.gateway}/api/admin/routing/settings", json=body | dims, headers=admin, timeout=30
    )
    assert r.status_code in (200, 202), r.text
    return httpx.get(f"{system.gateway}/api/admin/routing", headers=admin, timeout=30).json()


def subscribe(system, admin, staff_id: str, reasons=(), locations=(), inboxes=()) -> None:
    body = {
        "reasons": list(reasons),
        "locations": list(locations),
        "providers": [],
        "inboxes": list(inboxes),
    }
    r = httpx.put(
        f"{system.gateway}/api/admin/routing/subscriptions/{staff_id}",
        json=body,
        headers=admin,
        timeout=30,
    )
    assert r.status_code in (200, 202), r.text


def nobody_subscribed(system, admin, state: dict) -> None:
    """Every subscription emptied of what routing uses (inbox watching stays)."""
    for s in state["subscriptions"]:
        subscribe(system, admin, s["staff_id"], inboxes=s["inboxes"])


def manhattan_code(state: dict) -> str:
    return next(x["id"] for x in state["locations"] if x["name"] == "Manhattan")


def refills_code(state: dict) -> str:
    return next(r["code"] for r in state["reasons"] if r["label"] == REASON)


def admin_tab(page: Page, tab: str) -> None:
    page.goto(page.url.split("#")[0] + "#x")
    page.reload()
    open_admin_tab(page, tab)


def test_coverage_warns_and_reasons_say_what_patients_see(demo_system, new_page):
    # covers X-COVERAGE-1, I-COVERAGE-1, R-REASON-1, R-REASON-2
    admin = demo_system.login("admin@demo", "demo-admin")
    page = new_page()
    sign_in(page, demo_system, "admin@demo", "demo-admin", "/admin")

    # Routing off: said plainly, never "every reason has someone".
    state = routing(demo_system, admin)
    admin_tab(page, "Subscriptions")
    coverage = page.locator("section.coverage")
    expect(coverage).to_contain_text("Routing is off")
    expect(coverage).not_to_contain_text("Every reason")
    both_widths(page, "admin-subscriptions-routing-off")

    # Routing on and nobody subscribed: a warning, whatever else is true.
    state = routing(demo_system, admin, reason_routing=True, location_routing=True)
    nobody_subscribed(demo_system, admin, state)
    admin_tab(page, "Subscriptions")
    expect(coverage).to_contain_text("Warning: nobody is subscribed")
    expect(coverage).not_to_contain_text("Every reason")
    expect(page.get_by_text("Nobody is subscribed yet.")).to_be_visible()
    both_widths(page, "admin-subscriptions-nobody")

    # The reason list: only Other is offered, the rest hidden and why.
    admin_tab(page, "Routing settings")
    reasons = page.get_by_role("list", name="Reasons and whether patients see them")
    refills = reasons.get_by_role("listitem").filter(has_text=REASON)
    expect(refills).to_contain_text("Hidden")
    expect(refills).to_contain_text("nobody subscribes to it")
    expect(reasons.get_by_role("listitem").filter(has_text="Other")).to_contain_text("Offered")

    # Someone subscribes to refills at Manhattan: refills is offered; the rest are gaps.
    subscribe(demo_system, admin, MA[3], [refills_code(state)], [manhattan_code(state)])
    admin_tab(page, "Routing settings")
    expect(refills).to_contain_text("Offered")
    expect(page.get_by_text("Patients are offered 2 of")).to_be_visible()
    both_widths(page, "admin-routing-reasons")
    admin_tab(page, "Subscriptions")
    expect(coverage).to_contain_text("Warning: nobody receives")
    # The staff picker lists people, never the platform operator.
    options = page.get_by_label("Staff member").locator("option").all_inner_texts()
    assert OPERATOR not in options and MA[2] in options
    both_widths(page, "admin-subscriptions-gaps")


def next_appointment_at(location: str):
    """A demo patient whose next booked appointment is at `location`."""
    demo = demo_practice()
    now = datetime.now(UTC)
    for ref in demo_patients_with_upcoming_appointment(location)[1:]:
        upcoming = sorted(
            (
                a
                for a in demo.appointments
                if a.patient_id == ref.patient_id and a.status == "booked" and a.start > now
            ),
            key=lambda a: a.start,
        )
        if upcoming and upcoming[0].start == ref.appointment_start:
            return ref
    raise AssertionError(f"no demo patient whose next appointment is at {location}")


def test_explanation_is_a_sentence_and_staff_land_on_their_work(demo_system, new_page):
    # covers I-EXPLAIN-1, X-EXPLAIN-1, I-LAND-1, R-LOC-1
    admin = demo_system.login("admin@demo", "demo-admin")
    state = routing(demo_system, admin, reason_routing=True, location_routing=True)
    subscribe(demo_system, admin, MA[3], [refills_code(state)], [manhattan_code(state)])
    patient = next_appointment_at("Manhattan")
    messenger = new_page()
    patient_sign_in(messenger, demo_system, patient)
    patient_send(messenger, "Please renew my inhaler prescription.", reason=REASON)

    ma = demo_system.login(MA[0], MA[1])
    for _ in range(60):  # until it is in Morgan's Routed to me
        views = httpx.get(f"{demo_system.gateway}/api/inboxes", headers=ma).json()
        if next(v for v in views if v["path"] == "my/routed")["counts"]["open"]:
            break
        messenger.wait_for_timeout(500)

    # Morgan lands on Routed to me (their work), not on an empty Assigned to me.
    page = new_page()
    sign_in(page, demo_system, MA[0], MA[1])
    expect(page).to_have_url(re.compile(r"#inbox=my%2Frouted|#inbox=my/routed"))
    expect(page.locator("#list-title")).to_have_text("My Inbox: Routed to me")
    page.get_by_role("link", name=re.compile(re.escape(patient.name))).first.click()
    conv = page.get_by_role("region", name="Conversation")
    conv.get_by_text("Why was this routed here?").click()
    why = conv.locator("details.why")
    expect(why.locator(".why-sentence")).to_have_text(
        re.compile(
            rf"^Routed to you because you receive {re.escape(REASON)} at Manhattan, where "
            rf"{patient.given}'s next appointment is \(\w{{3}} \d{{1,2}} \w{{3}}(, [^)]+)?\)\.$"
        )
    )
    expect(why).to_contain_text(f"{patient.given} picked {REASON} when writing.")
    text = why.inner_text()
    for raw in ("R-LOC", "R-SUB", "R-REASON", "prescriptions_refills", "loc-", "subscriber(s)"):
        assert raw not in text, f"{raw!r} shown to staff: {text}"
    expect(why.get_by_text("Details for admins")).to_have_count(0)
    # "Why for": people only.
    choices = why.get_by_label("Staff member").locator("option").all_inner_texts()
    assert OPERATOR not in choices, choices
    why.get_by_label("Staff member").select_option(label="Bailey Billing")
    why.get_by_role("button", name="Explain").click()
    expect(why.locator(".why-staff")).to_contain_text(
        "Bailey Billing did not receive it: no subscriptions at the time."
    )
    expect(why.locator(".why-staff")).not_to_contain_text("R-SUB")
    both_widths(page, "inbox-why-staff")

    # The admin reads who it went to, and may open the rule ids.
    cid = re.search(r"[&#]c=([0-9a-f-]+)", page.url).group(1)
    admin_page = new_page()
    sign_in(admin_page, demo_system, "admin@demo", "demo-admin", f"/#inbox=all/directed&c={cid}")
    conv = admin_page.get_by_role("region", name="Conversation")
    conv.get_by_text("Why was this routed here?").click()
    why = conv.locator("details.why")
    expect(why.locator(".why-sentence")).to_contain_text(
        f"Routed to {MA[2]} because {MA[2]} receives {REASON} at Manhattan"
    )
    why.get_by_text("Details for admins").click()
    expect(why.get_by_text("R-SUB-1", exact=True)).to_be_visible()
    assignee = admin_page.get_by_label("Assignee")
    assignee.focus()
    expect(assignee.locator("option", has_text=MA[2])).to_have_count(1)
    assert OPERATOR not in assignee.locator("option").all_inner_texts()
    both_widths(admin_page, "inbox-why-admin")


def test_layout_filters_panel_popups_favicon(demo_system, new_page):
    # covers I-LAND-1
    page = new_page()
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    sign_in(page, demo_system, "admin@demo", "demo-admin", "/#inbox=shared/unassigned")
    expect(page.locator("#list-title")).to_have_text("Unassigned")
    # No empty strip: the inbox starts where the header ends.
    header = page.locator("header.top").bounding_box()
    app = page.locator("#app").bounding_box()
    assert abs(app["y"] - (header["y"] + header["height"])) <= 2, (header, app)
    # "Unassigned only" means nothing inside Unassigned.
    expect(page.get_by_label("Unassigned only")).to_be_hidden()
    both_widths(page, "inbox-unassigned")
    nav = page.locator("#inbox-nav")
    nav.get_by_role("link", name=re.compile(r"^All Patients: Directed")).click()
    expect(page.get_by_label("Unassigned only")).to_be_visible()

    # A patient's conversation: the panel never shows "(null)".
    page.locator("#conversation-list li.conv a").first.click()
    panel = page.get_by_role("complementary", name="Patient information")
    expect(panel.get_by_text("Recent encounters")).to_be_visible()
    expect(panel).not_to_contain_text("(null)")
    expect(panel).not_to_contain_text("undefined")

    # Escape closes the template popup, wherever focus is.
    template = page.get_by_role("button", name="Template")
    template.click()
    popup = page.locator(".popup:not([hidden])")
    expect(popup).to_have_count(1)
    page.get_by_label("Message").focus()  # focus outside the popup
    page.keyboard.press("Escape")
    expect(popup).to_have_count(0)
    expect(template).to_have_attribute("aria-expanded", "false")
    template.click()
    expect(popup).to_have_count(1)
    page.keyboard.press("Escape")
    expect(popup).to_have_count(0)
    # ...and a click elsewhere.
    template.click()
    page.locator("#list-title").click()
    expect(popup).to_have_count(0)
    both_widths(page, "inbox-conversation-layout")

    # At 800 px the conversation keeps room to read: inboxes above, list and conversation.
    page.set_viewport_size({"width": NARROW, "height": 900})
    strip = page.locator("#inbox-nav").bounding_box()
    pane = page.locator("#conversation-pane").bounding_box()
    assert pane["width"] >= 450, pane
    assert strip["y"] + strip["height"] <= pane["y"] + 1, (strip, pane)

    # A favicon, and no 404 on the page.
    icon = httpx.get(f"{demo_system.gateway}/favicon.ico")
    assert icon.status_code == 200 and "svg" in icon.headers["content-type"]
    page.reload()
    page.get_by_role("button", name="Sign out").wait_for()
    assert not missing, missing
