"""The SMS reason menu through the whole system and the carrier sandbox (X-MENU-1): a practice
admin turns it on for one line; a recognized patient's text gets the menu as a real SMS,
delivered once even when the carrier retries the webhook; the answer routes the conversation
with the reason it names, and the menu and the answer stay in its history."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from system_support import stranger_number
from test_first_message import post_sms
from test_routing_admin import MA
from test_sandbox_loop import register, sandbox_sends, wait_for

from switchboard.events import deterministic_id

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

LINE = "+12125550001"  # the demo practice's second SMS line: the menu is on for it only
MENU = "To direct your message, reply with a number: 1 for Prescriptions / Refills, 2 for Other."


def login(system, username: str, password: str) -> dict[str, str]:
    """Sign in, waiting out a gateway still warming up on a crowded machine."""
    deadline = time.monotonic() + 120
    while True:
        try:
            return system.login(username, password)
        except httpx.TimeoutException:
            if time.monotonic() > deadline:
                raise


def sends(system, phone: str) -> list[dict]:
    try:
        return sandbox_sends(system, phone)
    except httpx.TimeoutException:
        return []


@pytest.fixture
def menu_on_the_line(system):
    gw, admin = system.gateway, login(system, "admin@demo", "demo-admin")
    before = httpx.get(f"{gw}/api/admin/routing", headers=admin, timeout=60).json()
    flags = {"reason_routing": True}
    r = httpx.patch(f"{gw}/api/admin/routing/settings", json=flags, headers=admin, timeout=60)
    assert r.is_success, r.text
    body = {"reasons": ["prescriptions_refills", "other"]}
    url = f"{gw}/api/admin/routing/subscriptions/{MA}"
    assert httpx.put(url, json=body, headers=admin, timeout=60).is_success
    menu = {"line": LINE, "enabled": True, "window_minutes": 10}
    r = httpx.put(f"{gw}/api/admin/routing/reason-menu", json=menu, headers=admin, timeout=60)
    assert r.status_code == 200 and r.json()["applied"] is True, r.text
    # What the admin screen reads back is the setting the router now sends menus by (X-MENU-2).
    read = httpx.get(f"{gw}/api/admin/routing/reason-menu", headers=admin, timeout=60)
    assert {"line": LINE, "enabled": True, "window_minutes": 10} in read.json()["lines"]
    yield
    # The system is shared by every e2e module: put back what this changed.
    off = {"line": LINE, "enabled": False}
    httpx.put(f"{gw}/api/admin/routing/reason-menu", json=off, headers=admin, timeout=60)
    flags = {"reason_routing": before["reason_routing"]}
    httpx.patch(f"{gw}/api/admin/routing/settings", json=flags, headers=admin, timeout=60)
    mine = next((s for s in before["subscriptions"] if s["staff_id"] == MA), {})
    body = {k: mine.get(k, []) for k in ("reasons", "locations", "providers", "inboxes")}
    httpx.put(url, json=body, headers=admin, timeout=60)


def test_only_practice_admins_turn_the_menu_on(system):  # covers X-MENU-2
    staff = login(system, "front@demo", "demo-front")
    body = {"enabled": True}
    url = f"{system.gateway}/api/admin/routing/reason-menu"
    r = httpx.put(url, json=body, headers=staff, timeout=60)
    assert r.status_code == 403


def test_menu_sms_reaches_the_sandbox_once_and_the_answer_routes(system, menu_on_the_line):
    # covers X-MENU-1, X-MENU-3, X-MENU-5
    admin = login(system, "admin@demo", "demo-admin")
    gw = httpx.Client(base_url=system.gateway, headers=admin, timeout=60)
    phone = stranger_number("718")
    family = f"Menu{uuid.uuid4().hex[:6]}"
    patient = f"pat-{uuid.uuid4().hex[:8]}"
    mllp = system.port_base - 8000 + 2575
    assert asyncio.run(register(mllp, patient, family, phone, f"{family}@example.org")) == "AA"
    wait_for(lambda: gw.get("/api/patients", params={"q": family}).json())

    sid = f"SM{uuid.uuid4().hex}"
    assert post_sms(system, sid, phone, "Out of my pills", line=LINE).status_code == 200
    (menu,) = wait_for(lambda: [s for s in sends(system, phone) if s["status"] == "delivered"])
    assert menu["body"] == MENU and menu["channel"] == "sms"
    # The carrier retries the webhook: one message, so still one menu.
    assert post_sms(system, sid, phone, "Out of my pills", line=LINE).status_code == 200
    time.sleep(3)
    assert len(sends(system, phone)) == 1

    cid = deterministic_id("demo", "sms", LINE, phone)
    assert post_sms(system, f"SM{uuid.uuid4().hex}", phone, "1.", line=LINE).status_code == 200

    def routed():
        detail = gw.get(f"/api/conversations/{cid}").json()
        return detail if detail.get("reason") == "prescriptions_refills" else None

    detail = wait_for(routed)
    bodies = [(m["direction"], m["body"]) for m in detail["messages"]]
    assert bodies == [
        ("inbound", "Out of my pills"),
        ("outbound", MENU),
        ("inbound", "1."),
    ]
    assert len(sends(system, phone)) == 1  # the answer sends nothing
