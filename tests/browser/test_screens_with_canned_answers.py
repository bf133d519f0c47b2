"""The new screens (X-NOTIFYADMIN-1, X-PATIENTPAGE-1) in Chromium against canned API answers:
the pages' own files served from the tree, every API call answered here and every PUT
recorded. No running system: what the screens show and send, at 1280 and 800 px. The same
flows against the real system are test_admin_office_hours.py and test_patient_page_office.py."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Route, expect
from staff_steps import screenshot
from system_support import ROOT

from switchboard.gateway.timezones import zones
from switchboard.ingest.domain.page_text import page_text

GATEWAY_WEB = ROOT / "services/gateway/src/switchboard/gateway/web"
PATIENT_WEB = ROOT / "services/ingest/src/switchboard/ingest/entrypoints/web"
BASE = "http://switchboard.test"
REASONS = [
    {
        "code": "prescriptions_refills",
        "label": "Prescriptions / Refills",
        "description": "A refill, a new prescription, or a question about a medication you take.",
    },
    {"code": "billing", "label": "Billing", "description": "Bills, payments, insurance and costs."},
    {
        "code": "other",
        "label": "Other",
        "description": "Anything else, or if you are not sure: your care team will direct it.",
    },
]
SETTINGS = {
    "link_target": "inbox",
    "sla_minutes": 120,
    "sla_by_reason": [],
    "timezone": "America/New_York",
    "business_hours": [{"weekday": 0, "start": "09:00", "end": "17:00"}],
    "holidays": [],
    "front_line_staff_ids": [],
    "escalation_reassign_to": None,
    "coalesce_seconds": 300,
    "configured": True,
}
STAFF = [
    {"user_id": "u-admin", "display_name": "Avery Admin"},
    {"user_id": "u-ma-1", "display_name": "Morgan MA (Manhattan)"},
]


def _file(route: Route, path: Path) -> None:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    route.fulfill(status=200, body=path.read_bytes(), content_type=kind)


def _json(route: Route, body: Any, status: int = 200) -> None:
    route.fulfill(status=status, body=json.dumps(body), content_type="application/json")


def _admin_page(page: Page, sent: list[tuple[str, str, Any]], routing_fails: int = 0) -> None:
    """Serves the admin page; the first `routing_fails` reads of the routing settings get 503."""
    settings = dict(SETTINGS)
    fails = [routing_fails]

    def handle(route: Route) -> None:
        req = route.request
        path = req.url.removeprefix(BASE).split("?")[0]
        if path == "/admin":
            return _file(route, GATEWAY_WEB / "admin.html")
        if path.startswith("/ui/"):
            return _file(route, GATEWAY_WEB / "static" / path.removeprefix("/ui/"))
        if path == "/api/admin/routing" and fails[0] > 0:
            fails[0] -= 1
            detail = "the routing service (router) did not answer within 5s"
            return _json(route, {"detail": detail}, 503)
        if req.method in ("PUT", "DELETE"):
            body = json.loads(req.post_data) if req.post_data else None
            sent.append((req.method, path, body))
            if path == "/api/notify/practice-settings":
                settings.update(body)
            secret = {"secret": "generated-secret-0123456789"} if "webhooks" in path else {}
            return _json(route, {"event_id": "0" * 32, "event_type": "x", **secret}, 202)
        answers = {
            "/api/admin/routing": {
                "reasons": REASONS,
                "timezone": "UTC",
                "locations": [],
                "providers": [],
                "subscriptions": [],
                "staff": STAFF,
            },
            "/api/notify/practice-settings": settings,
            "/api/notify/timezones": {"zones": list(zones())},
            "/api/notify/webhooks": {
                "webhooks": [{"subscription_id": "ehr", "url": "https://ehr.example.org/hook"}]
            },
            "/api/staff": STAFF,
        }
        if path in answers:
            return _json(route, answers[path])
        return _json(route, {"detail": f"not canned: {path}"}, 404)

    page.context.add_init_script(
        "sessionStorage.setItem('switchboard.token', 't');"
        "sessionStorage.setItem('switchboard.user', JSON.stringify("
        "{user_id: 'u-admin', display_name: 'Avery Admin', role: 'practice_admin'}));"
    )
    page.route("**/*", handle)


def _widths(page: Page, name: str) -> None:
    for width in (1280, 800):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_office_hours_screen_sends_a_listed_zone_hours_per_weekday_and_holidays(new_page):
    # covers X-NOTIFYADMIN-1
    sent: list[tuple[str, str, Any]] = []
    page = new_page()
    _admin_page(page, sent)
    page.goto(f"{BASE}/admin#hours")
    page.get_by_role("tab", name="Office hours").click()
    expect(page.locator(".tz-chosen")).to_have_text("Selected: America/New York")
    page.get_by_label("Find a time zone").fill("chicago")
    page.get_by_role("listbox", name="Time zones").select_option("America/Chicago")
    page.get_by_label("Monday closes at").fill("17:30")
    page.get_by_role("button", name="Copy Monday to Tuesday").click()
    page.get_by_role("button", name="Add hours on Saturday").click()
    page.get_by_label("Saturday closes at").fill("12:00")
    page.get_by_label("Date").fill("2026-12-25")
    page.get_by_role("button", name="Add holiday").click()
    _widths(page, "admin-office-hours-canned")
    page.get_by_role("button", name="Save office hours").click()
    expect(page.get_by_role("status")).to_contain_text("Office hours saved")
    (method, path, body) = sent[-1]
    assert (method, path) == ("PUT", "/api/notify/practice-settings")
    assert body["timezone"] == "America/Chicago"
    assert body["business_hours"] == [
        {"weekday": d, "start": "09:00", "end": "17:30"} for d in range(5)
    ] + [{"weekday": 5, "start": "09:00", "end": "12:00"}]
    assert body["holidays"] == ["2026-12-25"]
    assert body["sla_minutes"] == 120  # the rest sent back unchanged


def test_escalation_and_webhook_screens(new_page):
    # covers X-NOTIFYADMIN-1
    sent: list[tuple[str, str, Any]] = []
    page = new_page()
    _admin_page(page, sent)
    page.goto(f"{BASE}/admin#escalation")
    page.get_by_role("tab", name="Escalation").click()
    page.get_by_label("Response target for Billing, minutes").fill("30")
    page.get_by_label("Reassign an overdue conversation to").select_option("u-ma-1")
    page.get_by_role("group", name="Alerted first").get_by_label("Morgan MA").check()
    _widths(page, "admin-escalation-canned")
    page.get_by_role("button", name="Save escalation").click()
    expect(page.get_by_role("status")).to_contain_text("Escalation saved")
    body = sent[-1][2]
    assert body["sla_by_reason"] == [{"reason": "billing", "minutes": 30}]
    assert body["escalation_reassign_to"] == "u-ma-1"
    assert body["front_line_staff_ids"] == ["u-ma-1"]

    page.get_by_role("tab", name="Alert webhooks").click()
    expect(page.get_by_role("table")).to_contain_text("https://ehr.example.org/hook")
    page.get_by_label("Id", exact=True).fill("alerts")
    page.get_by_label("URL", exact=True).fill("https://hooks.example.org/sb")
    page.get_by_role("button", name="Add webhook").click()
    expect(page.locator(".secret code")).to_have_text("generated-secret-0123456789")
    assert sent[-1][:2] == ("PUT", "/api/notify/webhooks/alerts")
    _widths(page, "admin-webhooks-canned")

    page.get_by_role("tab", name="Reason descriptions").click()
    page.get_by_label("Billing", exact=True).fill("Bills and insurance.")
    page.get_by_role("button", name="Save description of Billing").click()
    expect(page.get_by_role("status")).to_contain_text("Description of Billing")
    assert sent[-1] == (
        "PUT",
        "/api/admin/routing/reasons/billing/description",
        {"description": "Bills and insurance."},
    )
    _widths(page, "admin-reason-descriptions-canned")


def test_admin_page_loads_once_the_router_answers_again(new_page):
    # A router restarting for a moment used to leave the page without its tabs until a reload.
    page = new_page()
    _admin_page(page, [], routing_fails=2)
    page.goto(f"{BASE}/admin")
    expect(page.get_by_role("alert")).to_contain_text("did not answer within 5s")
    expect(page.get_by_role("alert")).to_contain_text("Trying again in")
    page.get_by_role("tab", name="Routing settings").click()  # after the retries at 1 s and 2 s
    expect(page.get_by_text("could not be loaded")).to_have_count(0)


def test_admin_page_offers_to_try_again_when_the_router_stays_away(new_page):
    page = new_page()
    _admin_page(page, [], routing_fails=4)  # the first read and its three automatic retries
    page.goto(f"{BASE}/admin")
    expect(page.get_by_role("alert")).not_to_contain_text("Trying again", timeout=15_000)
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("tab", name="Routing settings")).to_be_visible()


def test_patient_page_shows_notice_response_time_hours_and_descriptions(new_page):
    # covers X-PATIENTPAGE-1
    page = new_page()
    practice = {
        "practice_id": "demo",
        "name": "Demo Family Care",
        "emergency_notice": "If this is an emergency, call 911 or go to the nearest emergency "
        "room. Do not use this page for urgent medical needs.",
        "office": {
            "timezone": "America/Chicago",
            "response_minutes": 90,
            "business_hours": [[d, "08:30", "17:30"] for d in range(5)] + [[5, "09:00", "12:00"]],
            "holidays": ["2999-12-25"],
        },
    }

    def handle(route: Route) -> None:
        req = route.request
        path = req.url.removeprefix(BASE).split("?")[0]
        if path == "/patient/demo":
            return _file(route, PATIENT_WEB / "patient.html")
        if path.startswith("/patient-assets/text/"):  # the page's words (X-LANG-1)
            return _json(route, page_text(path.removeprefix("/patient-assets/text/")))
        if path.startswith("/patient-assets/"):
            return _file(route, PATIENT_WEB / path.removeprefix("/patient-assets/"))
        answers = {
            "/patient/demo/practice": practice,
            "/patient/demo/sessions": {
                "token": "t",
                "expires_at": "2999-01-01T00:00:00Z",
                "conversation_id": "0" * 32,
                "kind": "messenger",
            },
            "/patient/demo/messages": {"messages": []},
            "/patient/demo/reasons": {
                "show_picker": True,
                "why": "new_conversation",
                "reasons": REASONS,
                "current_reason": None,
            },
        }
        if path in answers:
            return _json(route, answers[path], 201 if path.endswith("sessions") else 200)
        return _json(route, {"detail": "not canned"}, 404)

    page.route("**/*", handle)
    page.goto(f"{BASE}/patient/demo")
    expect(page.get_by_role("note", name="Emergencies")).to_contain_text("call 911")
    office = page.get_by_role("region", name="When we reply")
    expect(office).to_contain_text(
        "We usually reply within 1 hour 30 minutes during business hours."
    )
    expect(page.locator("#hours-list li")).to_have_text(
        ["Mon\u2013Fri: 8:30 AM \u2013 5:30 PM", "Sat: 9:00 AM \u2013 12:00 PM", "Sun: closed"]
    )
    expect(page.locator("#holidays")).to_contain_text("Closed on")
    _widths(page, "patient-page-office-canned")
    page.get_by_label("First name").fill("Ana")
    page.get_by_label("Last name").fill("Rivera")
    page.get_by_label("Date of birth").fill("1980-01-02")
    page.get_by_label("Mobile number").fill("2125550123")
    page.get_by_role("button", name="Continue").click()
    picker = page.get_by_role("group", name="What is your message about?")
    expect(picker.locator("label", has_text="Billing")).to_contain_text("Bills, payments")
    expect(picker).to_contain_text("Not sure which to choose? Pick Other")
    expect(picker.locator("label", has_text="Other")).to_contain_text("not sure")
    _widths(page, "patient-page-reasons-canned")
