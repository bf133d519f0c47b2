"""Browser tests: the system as `make up` starts it (with the demo practice), driven through
Debian's Chromium by Playwright for Python. Screenshots land in artifacts/screenshots/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from staff_steps import screenshot
from system_support import System, running_system

# Playwright's own browser download cannot work on these machines: use the system's Chromium,
# without the background connections a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser
FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


def chromium_path() -> str:
    path = os.environ.get("SB_CHROMIUM") or shutil.which("chromium")
    if path is None:
        pytest.fail("no Chromium: install Debian's chromium (.ci/run does) or set SB_CHROMIUM")
    return path


@pytest.fixture(scope="session")
def demo_system(tmp_path_factory) -> Iterator[System]:
    port_base = int(os.environ.get("SB_BROWSER_PORT_BASE", "18200"))
    with running_system(tmp_path_factory.mktemp("run"), port_base, demo=True) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Per module, not per session: Playwright's sync API runs an event loop on this thread
    # while it is open, and asyncio tests cannot start their own beside it.
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _what_the_pages_showed(name: str, contexts: list[BrowserContext]) -> None:
    """After a failure: each open page's address, its alerts and a screenshot, in the report."""
    for i, page in enumerate(p for c in contexts for p in c.pages):
        try:
            alerts = page.get_by_role("alert").all_inner_texts()
            path = screenshot(page, f"failed-{name}-{i}")
            print(f"page {i}: {page.url}\n  alerts: {alerts}\n  screenshot: {path}")
        except Exception as e:  # a closed or crashed page: say so and go on
            print(f"page {i}: not readable ({type(e).__name__})")


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator:
    """new_page() -> a Page in a fresh context (its own session storage: another staff member)."""
    contexts: list[BrowserContext] = []

    def make() -> Page:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    if request.node.stash.get(FAILED, False):
        _what_the_pages_showed(request.node.name, contexts)
    for c in contexts:
        c.close()
