"""Administration / Inbox history (X-ASOF-1, X-ASOF-1b), in a browser: an admin picks a view and
a moment and sees the inbox as it stood then and who could see it, by name. The demo's texts are
in the shared Unassigned inbox now, watched by the front desk; a day earlier it was empty and
the front desk did not watch it yet."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect
from staff_steps import open_admin_tab, screenshot, sign_in

FRONT_DESK = "Frankie Front Desk"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# The page's datetime-local field takes the browser's local time, to the minute.
LOCAL_MINUTE = """(ms) => {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  const day = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  return `${day}T${p(d.getHours())}:${p(d.getMinutes())}`;
}"""


def _show(page: Page, at: datetime) -> None:
    page.get_by_label("Inbox", exact=True).select_option(label="Unassigned (shared)")
    page.get_by_label("At", exact=True).fill(page.evaluate(LOCAL_MINUTE, at.timestamp() * 1000))
    page.get_by_role("button", name="Show").click()


def test_admin_sees_the_unassigned_inbox_as_it_stood_and_who_could_see_it(demo_system, new_page):
    # covers X-ASOF-1, X-ASOF-1b
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, demo_system, "admin@demo", "demo-admin", "/admin#as-of")
    open_admin_tab(page, "Inbox history")
    result = page.locator(".asof-result")

    # In a minute from now: the demo's texts, and the front desk (who watches it) by name.
    _show(page, datetime.now(UTC) + timedelta(minutes=1))
    heading = result.get_by_role("heading", level=3)
    expect(heading).to_contain_text("Unassigned (shared) at")
    expect(heading).to_have_text(re.compile(r": [1-9][0-9]* conversation\(s\)$"))
    assert result.get_by_role("listitem").count() >= 4  # the demo's four texts at least
    who = result.get_by_text("Could see it then:")
    expect(who).to_contain_text(FRONT_DESK)
    expect(result).not_to_contain_text("u-front-1")  # names, not ids
    # each conversation by who wrote it, not by its id
    links = result.get_by_role("link").all_inner_texts()
    assert links and not [t for t in links if UUID.search(t) or not t.strip()], links
    screenshot(page, "admin-inbox-history-1280")

    # A day earlier: nothing in it, and the front desk did not watch it yet.
    _show(page, datetime.now(UTC) - timedelta(days=1))
    expect(heading).to_have_text(re.compile(r": 0 conversation\(s\)$"))
    expect(result.get_by_role("listitem")).to_have_count(0)
    expect(who).not_to_contain_text(FRONT_DESK)
    screenshot(page, "admin-inbox-history-a-day-earlier-1280")

    # A moment not picked: said so, nothing asked.
    page.get_by_label("At", exact=True).fill("")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("tabpanel").get_by_role("alert")).to_contain_text(
        "Pick a date and time"
    )
