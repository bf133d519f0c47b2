"""Steps the staff-side browser tests share: sign in, and save a screenshot as an artifact.
(A module of its own: `conftest` is a name several test folders use.)"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect
from system_support import ROOT, System

SCREENSHOTS = ROOT / "artifacts" / "screenshots"


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact; returns its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, system: System, username: str, password: str, path: str = "/") -> None:
    page.goto(f"{system.gateway}{path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


def open_admin_tab(page: Page, name: str) -> None:
    """Open an Administration tab. The tabs come once the routing settings load, which the page
    retries for a few seconds when the router is busy: wait that long for them."""
    page.get_by_role("tab", name=name).click(timeout=30_000)
    expect(page.get_by_role("tabpanel").get_by_role("heading", name=name, level=2)).to_be_visible()
