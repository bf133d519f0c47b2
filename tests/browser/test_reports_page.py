"""The reports page for the demo practice (X-REPORT-1): the demo day's conversations, two
demo patients writing through the messenger and answered (Send and Close, Send and keep Open),
one SMS closed, then a practice admin opens Reports: the headline figures, six plotly.js charts, the
breakdown by staff, and a CSV download that equals the API's. Staff who are not admins are
refused. Screenshots at 1280 and 800 px wide."""

from __future__ import annotations

import csv
import functools
import io
import time

import httpx
from patient_steps import (
    demo_patient_with_upcoming_appointment,
    patient_sign_in,
    pick_reason_if_asked,
)
from playwright.sync_api import Page, expect
from staff_steps import screenshot, sign_in

# a crowded test machine answers slowly: more than httpx's 5 s default
_get = functools.partial(httpx.get, timeout=60)
_post = functools.partial(httpx.post, timeout=60)

CHARTS = (
    "chart-first-response",
    "chart-close",
    "chart-hours",
    "chart-weekdays",
    "chart-sla",
    "chart-unanswered",
)


def _until(check, within: float = 60.0):
    deadline = time.monotonic() + within
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.3)


def _patient_writes(system, new_page, index: int, text: str) -> str:
    """A demo patient writes through the messenger (picking the first reason when asked);
    returns their patient id."""
    patient = demo_patient_with_upcoming_appointment("Brooklyn", index)
    page = new_page()
    patient_sign_in(page, system, patient)
    pick_reason_if_asked(page)
    page.get_by_label("Your message", exact=True).fill(text)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_have_text("Sent.")
    return patient.patient_id


def _answer_some(system, admin: dict[str, str], new_page) -> None:
    """The demo day goes on: two demo patients write through the messenger and a practice
    admin answers both (one Send and Close, one Send and keep Open); one of the demo SMS
    (from unknown numbers: they cannot be answered before linking) is closed."""
    written = {
        _patient_writes(system, new_page, 50, "Is my prescription ready? (reports test)"): False,
        _patient_writes(system, new_page, 51, "Can I get a note for work? (reports test)"): True,
    }

    def listed() -> list[dict]:
        r = _get(f"{system.gateway}/api/inboxes/all/directed", headers=admin)
        items = [] if r.status_code != 200 else r.json()["items"]
        r = _get(
            f"{system.gateway}/api/inboxes/shared/unassigned", headers=admin, params={"limit": 50}
        )
        r.raise_for_status()
        return items + r.json()["items"]

    found = _until(
        lambda: (
            (got := {c["patient_id"]: c for c in listed() if c.get("patient_id") in written})
            and len(got) == len(written)
            and got
        )
    )
    for patient_id, keep_open in written.items():
        cid = found[patient_id]["conversation_id"]
        reply = _post(
            f"{system.gateway}/api/conversations/{cid}/reply",
            headers=admin,
            json={"body": "Thank you, we are on it.", "keep_open": keep_open},
        )
        assert reply.status_code in (200, 202), reply.text
    unknown = [c for c in listed() if c.get("patient_id") is None and c["status"] == "open"]
    if unknown:
        cid = unknown[0]["conversation_id"]
        detail = _get(f"{system.gateway}/api/conversations/{cid}", headers=admin).json()
        close = _post(
            f"{system.gateway}/api/conversations/{cid}/status",
            headers=admin,
            json={"status": "closed", "expected_version": detail["version"]},
        )
        assert close.status_code in (200, 202), close.text


def _report(system, headers) -> dict:
    r = _get(f"{system.gateway}/api/reports", headers=headers)
    r.raise_for_status()
    return dict(r.json())


def _drawn(page: Page, chart: str) -> None:
    # plotly.js draws each chart as SVG inside the card
    expect(page.locator(f"#{chart} svg.main-svg").first).to_be_attached()


def test_reports_page_shows_the_demo_practice_in_charts_and_downloads_csv(demo_system, new_page):
    # covers X-REPORT-1
    admin = demo_system.login("admin@demo", "demo-admin")
    _answer_some(demo_system, admin, new_page)
    report = _until(
        lambda: (
            (r := _report(demo_system, admin))["current"]["first_response"]["count"] > 0
            and r["current"]["time_to_close"]["count"] > 0
            and r
        )
    )
    assert report["current"]["conversations"] >= 4
    assert report["current"]["volume"]["messages"] >= 4

    page = new_page()
    # a crowded machine: plotly.js is 4.8 MB to load and parse
    page.set_default_timeout(45_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, demo_system, "admin@demo", "demo-admin", "/reports")
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    table = page.get_by_role("table", name="Headline figures")
    expect(table).to_contain_text("Conversations opened", timeout=60_000)  # plotly.js loaded
    expect(table.get_by_role("row", name="Conversations opened")).to_contain_text(
        str(report["current"]["conversations"])
    )
    for chart in CHARTS:
        _drawn(page, chart)
    # bars for the answered conversations and for the messages by hour
    expect(page.locator("#chart-first-response .point").first).to_be_attached()
    expect(page.locator("#chart-hours .point").first).to_be_attached()
    expect(page.get_by_role("status")).to_contain_text("Report for")
    page.wait_for_timeout(500)  # plotly's transitions
    screenshot(page, "reports-1280")

    # break down by staff: the admin answered them
    page.get_by_label("Break down by").select_option("staff")
    expect(page.locator("#chart-first-response")).to_contain_text(_staff_key(report))

    with page.expect_download() as got:
        page.get_by_role("button", name="Download CSV").click()
    download = got.value
    assert download.suggested_filename.startswith("switchboard-report-")
    with open(download.path(), encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["period", "section", "dimension", "key", "measure", "value"]
    assert [
        "current",
        "headline",
        "",
        "",
        "conversations",
        str(report["current"]["conversations"]),
    ] in rows
    api_csv = _get(f"{demo_system.gateway}/api/reports.csv", headers=admin).text
    # the same figures (the unanswered ages may move on by a bucket between the two calls)
    assert [r for r in rows if r[0] != "now"] == [
        r for r in csv.reader(io.StringIO(api_csv)) if r[0] != "now"
    ]

    page.set_viewport_size({"width": 800, "height": 900})
    page.wait_for_timeout(800)  # the charts follow the width (responsive)
    for chart in CHARTS:
        _drawn(page, chart)
    screenshot(page, "reports-800")
    assert not [p for p in problems if "Content Security Policy" in p], problems


def _staff_key(report: dict) -> str:
    rows = report["current"]["by"]["staff"]
    answered = [r for r in rows if r["first_response"]["count"]]
    return str(answered[0]["key"])


def test_reports_are_for_practice_admins(demo_system, new_page):
    # covers X-REPORT-1, T-2
    staff = demo_system.login("front@demo", "demo-front")
    r = _get(f"{demo_system.gateway}/api/reports", headers=staff)
    assert r.status_code == 403 and "practice admins" in r.json()["detail"]
    assert _get(f"{demo_system.gateway}/api/reports.csv", headers=staff).status_code == 403
    page = new_page()
    sign_in(page, demo_system, "front@demo", "demo-front", "/reports")
    expect(page.get_by_role("alert")).to_contain_text("Reports are for practice admins")
