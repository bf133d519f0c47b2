"""Team work in the staff inbox, in Chromium against the whole demo system: a note with an
@mention reaching the colleague live (two browser contexts), a snooze coming back open, a bulk
close, and the keyboard shortcuts. Screenshots at 1280 and 800 px wide."""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import Page, expect
from staff_steps import screenshot, sign_in
from test_inbox_ui import STAFF, patient_with_doctor, post_sms

# the browser's local time 12 s from now, as <input type="datetime-local" step="1"> takes it
LOCAL_IN_12_S = """() => {
  const d = new Date(Date.now() + 12000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}` +
    `T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}"""


def shots(page: Page, name: str) -> None:
    """The page at 1280 and at 800 px wide (the layout stacks there)."""
    for width in (1280, 800):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(200)
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1400, "height": 900})


def open_conversation(page: Page, system, view: str, name: str) -> None:
    page.goto(f"{system.gateway}/#inbox={view}")
    row = page.get_by_role("link", name=re.compile(re.escape(name)))
    expect(row.first).to_be_visible(timeout=20_000)
    row.first.click()
    expect(
        page.get_by_role("region", name="Conversation").get_by_role("heading", name=name)
    ).to_be_visible()


def conversation_of(system, admin, phone: str) -> str:
    r = httpx.get(f"{system.gateway}/api/search", params={"phone": phone}, headers=admin)
    return r.json()["items"][0]["conversation_id"]


def test_a_note_with_a_mention_reaches_the_colleague_live(demo_system, new_page):
    # covers I-NOTE-1, I-LIVE-1
    admin = demo_system.login("admin@demo", "demo-admin")
    patient, doctor = patient_with_doctor(demo_system, admin, "Patel")
    post_sms(demo_system, patient["phones"][0], "Is my lab result back?")
    # the colleague, on their own inbox in a second browser context
    other = new_page()
    sign_in(other, demo_system, doctor["username"], doctor["password"])
    other.wait_for_timeout(1500)  # the live socket is open

    page = new_page()
    sign_in(page, demo_system, "admin@demo", "demo-admin")
    open_conversation(page, demo_system, "all/directed", patient["name"])
    cid = conversation_of(demo_system, admin, patient["phones"][0])
    # someone who cannot see the patient is refused, by name
    readers = {
        u["user_id"]
        for u in httpx.get(
            f"{demo_system.gateway}/api/conversations/{cid}/assignees", headers=admin
        ).json()
    }
    outsider = next(u for u in STAFF.values() if u["user_id"] not in readers)
    note = page.get_by_role("textbox", name="Internal note", exact=True)
    suggestions = page.get_by_role("listbox", name="Colleagues to mention")
    note.fill(f"@{outsider['user_id']}")  # the suggestions match ids and names
    suggestions.get_by_role("option", name=re.compile(re.escape(outsider["display_name"]))).click()
    note.press_sequentially("can you check?")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("alert")).to_contain_text("cannot see this patient")
    expect(page.get_by_role("alert")).to_contain_text(outsider["display_name"])

    text = f"please call back about the labs {uuid.uuid4().hex[:6]}"
    note.fill(f"@{doctor['display_name'].split()[-1]}")  # "@Lee"
    suggestions.get_by_role("option", name=re.compile(re.escape(doctor["display_name"]))).click()
    note.press_sequentially(text)
    page.get_by_role("button", name="Add note").click()
    thread = page.get_by_role("list", name="Conversation history")
    expect(thread.get_by_label("Internal note").filter(has_text=text)).to_be_visible(timeout=15_000)
    expect(page.locator("#status")).to_contain_text(f"{doctor['display_name']} notified")
    shots(page, "teamwork-note")

    # the colleague hears of it at once, and finds it under Mentions
    expect(other.locator("#status")).to_contain_text("mentioned you", timeout=15_000)
    other.locator("#inbox-nav").get_by_role("link", name=re.compile(r"^My Inbox: Mentions")).click()
    row = other.get_by_role("link", name=re.compile(re.escape(patient["name"])))
    expect(row.first).to_be_visible(timeout=10_000)
    row.first.click()
    expect(other.get_by_text(text)).to_be_visible()
    expect(other.get_by_text("not sent to the patient").first).to_be_visible()
    shots(other, "teamwork-mentions")


def test_a_snooze_comes_back_open(demo_system, new_page):
    # covers I-SNOOZE-1
    admin = demo_system.login("admin@demo", "demo-admin")
    patient, _ = patient_with_doctor(demo_system, admin, "Chen")
    post_sms(demo_system, patient["phones"][0], "Could you call me tomorrow?")
    page = new_page()
    sign_in(page, demo_system, "admin@demo", "demo-admin")
    open_conversation(page, demo_system, "all/directed", patient["name"])
    page.get_by_label("Snooze until", exact=True).select_option("custom")
    soon = page.evaluate(LOCAL_IN_12_S)
    page.get_by_label("Snooze until (time)").fill(soon)
    page.get_by_role("button", name="Snooze", exact=True).click()
    line = page.locator(".snooze-line")
    expect(line).to_contain_text("Snoozed", timeout=15_000)
    expect(line).to_contain_text("response timer is paused")
    expect(page.get_by_label("Status", exact=True)).to_have_value("snoozed")
    shots(page, "teamwork-snoozed")
    # it comes back open at its time, without a reload
    expect(page.get_by_label("Status", exact=True)).to_have_value("open", timeout=40_000)
    expect(line).to_be_hidden()


def test_bulk_close_of_a_selection(demo_system, new_page):
    # covers I-BULK-1
    admin = demo_system.login("admin@demo", "demo-admin")
    names = []
    for surname in ("Garcia", "Kim"):
        patient, _ = patient_with_doctor(demo_system, admin, surname)
        post_sms(demo_system, patient["phones"][0], f"Bulk check {uuid.uuid4().hex[:6]}")
        names.append(patient["name"])
    page = new_page()
    sign_in(page, demo_system, "admin@demo", "demo-admin")
    page.goto(f"{demo_system.gateway}/#inbox=all/directed")
    for name in names:
        row = page.locator("li.conv").filter(has_text=name).first
        expect(row).to_be_visible(timeout=20_000)
        row.get_by_role("checkbox").check()
    expect(page.get_by_role("toolbar", name="Bulk actions")).to_contain_text("2 selected")
    shots(page, "teamwork-bulk-selected")
    page.get_by_role("button", name="Close selected").click()
    expect(page.locator("#status")).to_contain_text("Closed 2 conversations", timeout=20_000)
    for name in names:
        row = page.locator("li.conv").filter(has_text=name).first
        expect(row.locator(".status")).to_have_text("Closed", timeout=15_000)


def test_keyboard_shortcuts(demo_system, new_page):
    # covers I-NOTE-1
    admin = demo_system.login("admin@demo", "demo-admin")
    patient, _ = patient_with_doctor(demo_system, admin, "Brown")
    post_sms(demo_system, patient["phones"][0], f"Shortcut check {uuid.uuid4().hex[:6]}")
    page = new_page()
    sign_in(page, demo_system, "admin@demo", "demo-admin")
    page.goto(f"{demo_system.gateway}/#inbox=all/directed")
    expect(page.locator("li.conv").first).to_be_visible(timeout=20_000)
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    shots(page, "teamwork-shortcuts")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # j moves down the list, k back up, Enter opens
    page.keyboard.press("j")
    first = page.locator("li.conv > a").nth(0)
    expect(first).to_have_class(re.compile("kb-cursor"))
    page.keyboard.press("j")
    expect(page.locator("li.conv > a").nth(1)).to_have_class(re.compile("kb-cursor"))
    page.keyboard.press("k")
    expect(first).to_have_class(re.compile("kb-cursor"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"c=[0-9a-f-]{36}"))
    pane = page.get_by_role("region", name="Conversation")
    expect(pane.get_by_role("textbox", name="Internal note", exact=True)).to_be_visible()
    # n: the note box; letters typed there are text, not shortcuts
    page.keyboard.press("n")
    expect(pane.get_by_role("textbox", name="Internal note", exact=True)).to_be_focused()
    page.keyboard.type("e j k")
    expect(pane.get_by_role("textbox", name="Internal note", exact=True)).to_have_value("e j k")
    expect(page.get_by_label("Status", exact=True)).not_to_have_value("closed")
    # r: the reply box; a: the assignee; e: close
    page.locator("#list-title").click()
    page.keyboard.press("r")
    expect(page.get_by_label("Message")).to_be_focused()
    page.locator("#list-title").click()
    page.keyboard.press("a")
    expect(page.get_by_label("Assignee")).to_be_focused()
    page.locator("#list-title").click()
    if page.get_by_label("Status", exact=True).input_value() != "open":
        page.get_by_label("Status", exact=True).select_option("open")
        expect(page.get_by_label("Status", exact=True)).to_have_value("open", timeout=15_000)
        page.locator("#list-title").click()
    page.keyboard.press("e")
    expect(page.get_by_label("Status", exact=True)).to_have_value("closed", timeout=15_000)
