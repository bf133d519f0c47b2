"""Issue 13, item 2, against the system `make up` starts: no internal route on a public port
(404), and on the internal ports nothing without a caller's token (401). The rest of the
e2e tests go through the gateway, which reaches every internal API with its own token."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.e2e

# The requests, and one per service with an internal API.
REQUESTS = [
    ("ingest", "GET", "/internal/practices/demo/attachments?ref=demo/a.jpg", None),
    ("ingest", "POST", "/internal/practices/demo/files", b"%PDF-1.4 stored?"),
    ("ingest", "GET", "/internal/practices/demo/lines", None),
    ("pm-sync", "GET", "/internal/practices/demo/patients?phone=%2B12125550101", None),
    ("pm-sync", "POST", "/internal/practices/demo/sync", None),
    ("router", "GET", "/internal/practices/demo/routing", None),
    ("router", "POST", "/internal/practices/demo/what-if", b"{}"),
    ("notifier", "GET", "/internal/practices/demo/notification-settings", None),
]


@pytest.mark.parametrize(("service", "method", "path", "body"), REQUESTS)
def test_internal_routes_are_not_public_and_need_a_callers_token(
    system, service, method, path, body
):
    headers = {"content-type": "application/pdf"} if body else {}
    public = httpx.request(method, system.public_url(service) + path, content=body, headers=headers)
    assert public.status_code == 404, public.text
    for auth in ({}, {"Authorization": "Bearer not-a-token"}):
        r = httpx.request(
            method, system.internal_url(service) + path, content=body, headers=headers | auth
        )
        assert r.status_code == 401, (service, path, r.status_code)
        assert r.json()["status"] == 401


def test_the_gateway_reaches_the_internal_apis_with_its_token(system):
    # the practice's lines come from ingest's internal API, its routing from the router's,
    # its notification settings from the notifier's
    auth = system.login("admin@demo", "demo-admin")
    for path in ("/api/lines", "/api/admin/routing", "/api/notify/practice-settings"):
        r = httpx.get(system.gateway + path, headers=auth)
        assert r.status_code == 200, (path, r.text)
