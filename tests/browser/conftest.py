"""Browser tests: the system as `make up` starts it (with the demo practice), driven through
Debian's Chromium by Playwright for Python. Screenshots land in artifacts/screenshots/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
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


@pytest.fixture
def new_page(browser: Browser) -> Iterator:
    """new_page() -> a Page in a fresh context (its own session storage: another staff member)."""
    contexts: list[BrowserContext] = []

    def make() -> Page:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for c in contexts:
        c.close()
