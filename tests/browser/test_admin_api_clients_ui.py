"""Administration tabs for downstream systems (issue 16): API clients (ADR 0024: create shows
the secret once with a copy button and a warning; rotate; revoke) and event webhooks (ADR
0022: add an endpoint, a demo SMS reaches it, its delivery log shows it). The secrets made
here are used through the real API, so the screen and the API are tested together."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.sync_api import Page, expect
from staff_steps import open_admin_tab, screenshot, sign_in

from switchboard.ingest.adapters.twilio import signature

# The whole system starts first (make up): slow when six engineers share two cores.
pytestmark = pytest.mark.timeout(1800)

ADMIN, PASSWORD = "admin@demo", "demo-admin"
LINE = "+12125550000"


def _token(system, client_id: str, secret: str) -> httpx.Response:
    return httpx.post(
        f"{system.gateway}/api/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


def _both_widths(page: Page, name: str) -> None:
    for width in (1280, 800):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_api_clients_tab_secret_once_rotate_revoke(demo_system, new_page):
    # covers X-APICLIENT-1
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, demo_system, ADMIN, PASSWORD, "/admin")
    open_admin_tab(page, "API clients")
    panel = page.get_by_role("tabpanel")
    expect(panel).to_contain_text("client credentials grant")
    name = f"Warehouse {uuid.uuid4().hex[:6]}"
    panel.get_by_label("Name (what program is it?)").fill(name)
    panel.get_by_role("button", name="Create API client").click()

    notice = panel.locator(".api-secret")
    expect(notice).to_contain_text("it is not shown again")
    client_id = notice.get_by_label("Client ID", exact=True).input_value()
    secret = notice.get_by_label("Client secret", exact=True).input_value()
    assert client_id.startswith("apic-") and secret.startswith("sbcs_")
    notice.get_by_role("button", name="Copy the client secret").click()
    expect(notice.get_by_role("button", name="Copy the client secret")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    row = panel.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("Active, never used")
    _both_widths(page, "admin-api-clients-secret-once")

    # the secret works through the API; the screen then says the client was used
    r = _token(demo_system, client_id, secret)
    assert r.status_code == 200, r.text
    bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert httpx.get(f"{demo_system.gateway}/api/inboxes", headers=bearer).status_code == 200

    panel.get_by_role("button", name="I have stored the secret").click()
    expect(notice).to_have_count(0)
    page.reload()
    open_admin_tab(page, "API clients")
    panel = page.get_by_role("tabpanel")
    assert secret not in page.content()  # shown once only
    row = panel.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("Active, last token")

    # rotate: a new secret, once; the old one and its token stop working
    row.get_by_role("button", name="New secret").click()
    notice = panel.locator(".api-secret")
    new_secret = notice.get_by_label("Client secret", exact=True).input_value()
    assert new_secret != secret
    assert _token(demo_system, client_id, secret).status_code == 401
    assert httpx.get(f"{demo_system.gateway}/api/inboxes", headers=bearer).status_code == 401
    fresh = _token(demo_system, client_id, new_secret)
    assert fresh.status_code == 200
    bearer = {"Authorization": f"Bearer {fresh.json()['access_token']}"}

    # revoke, after a confirmation: its token stops at once
    row = panel.get_by_role("row").filter(has_text=name)
    row.get_by_role("button", name="Revoke…").click()
    expect(row).to_contain_text("Programs using it stop at once")
    _both_widths(page, "admin-api-clients-revoke-confirm")
    row.get_by_role("button", name="Revoke for good").click()
    expect(panel.get_by_role("row").filter(has_text=name)).to_contain_text("Revoked")
    assert httpx.get(f"{demo_system.gateway}/api/inboxes", headers=bearer).status_code == 401
    assert _token(demo_system, client_id, new_secret).status_code == 401
    _both_widths(page, "admin-api-clients-revoked")


class _Receiver(BaseHTTPRequestHandler):
    got: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        type(self).got.append({"headers": dict(self.headers), "body": json.loads(body or b"{}")})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict]]]:
    """A webhook receiver on a free loopback port (dev allows http to loopback)."""
    got: list[dict] = []
    handler = type("Receiver", (_Receiver,), {"got": got})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    finally:
        server.shutdown()
        server.server_close()


def _post_sms(system, sender: str, body: str) -> None:
    url = f"{system.ingest}/webhooks/twilio/sms/demo"
    params = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": sender, "To": LINE, "Body": body}
    headers = {"X-Twilio-Signature": signature(system.twilio_token, url, params)}
    r = httpx.post(url, data=params, headers=headers, timeout=30)
    assert r.status_code == 200, r.text


def test_event_webhooks_tab_add_an_endpoint_and_see_its_deliveries(demo_system, new_page, receiver):
    # covers X-EVENTS-2
    url, got = receiver
    page = new_page()
    sign_in(page, demo_system, ADMIN, PASSWORD, "/admin")
    open_admin_tab(page, "Event webhooks")
    panel = page.get_by_role("tabpanel")
    description = f"Browser test receiver {uuid.uuid4().hex[:6]}"
    form = panel.locator("form.event-webhook").last
    form.get_by_label("URL (https)").fill(url)
    form.get_by_label("Description").fill(description)
    form.get_by_role("button", name="Add endpoint").click()
    expect(panel.get_by_role("status").first).to_contain_text("Copy it now")
    card = panel.locator("article.event-webhook-endpoint").filter(has_text=description)
    expect(card).to_contain_text("Active")
    expect(card).to_contain_text("conversation.created")
    try:
        sender = f"+1646{uuid.uuid4().int % 10_000_000:07d}"
        _post_sms(demo_system, sender, "Browser test: is my refill ready?")
        deadline = time.monotonic() + 90
        while not got and time.monotonic() < deadline:
            time.sleep(0.5)
        assert got, "no event reached the endpoint"
        first = got[0]
        assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= {
            k.lower() for k in first["headers"]
        }
        assert "Browser test" not in json.dumps(got)  # no content types subscribed

        def logged() -> bool:
            card.get_by_role("button", name="Delivery log").click()
            return card.locator("table.deliveries td", has_text="delivered").count() > 0

        deadline = time.monotonic() + 30
        while not logged():
            assert time.monotonic() < deadline, "the delivery log shows no delivered event"
            time.sleep(1)
        table = card.locator("table.deliveries")
        expect(table).to_contain_text("conversation.created")
        expect(table).to_contain_text("HTTP 204")
        _both_widths(page, "admin-event-webhooks-deliveries")
    finally:
        card.get_by_role("button", name="Remove").click()
        expect(
            panel.locator("article.event-webhook-endpoint").filter(has_text=description)
        ).to_have_count(0)
