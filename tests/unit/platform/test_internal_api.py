"""Internal APIs (issue 13, item 2): served only by each service's internal app, and every
route there, whatever it is, refuses a request without a token of a caller the service
accepts. The routes are enumerated from the apps, so a route added later is covered too.

Before the fix the same `/internal/...` routes were on the public app (the webhook port) and
answered an anonymous request (ingest and pm-sync without a configured token, the router
always): each check below failed there."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import SecretStr

from switchboard.ingest.app import build_app as ingest_app
from switchboard.ingest.settings import IngestSettings
from switchboard.notifier.app import build_app as notifier_app
from switchboard.notifier.settings import NotifierSettings
from switchboard.platform.internal_api import (
    CALLERS,
    add_internal_api,
    authenticate,
    dev_credentials,
    internal_app_of,
    settings_update,
)
from switchboard.platform.logging import configure_logging
from switchboard.platform.settings import ServiceSettings
from switchboard.pm_sync.entrypoints.app import build_app as pm_sync_app
from switchboard.pm_sync.settings import PmSyncSettings
from switchboard.router.api import router as router_api
from switchboard.router.app import build_app as router_app
from switchboard.router.settings import RouterSettings

CREDENTIALS = dev_credentials()
BUILDERS = {
    "router": lambda s: router_app(RouterSettings(**s)),
    "pm-sync": lambda s: pm_sync_app(PmSyncSettings(**s)),
    "ingest": lambda s: ingest_app(IngestSettings(**s)),
    "notifier": lambda s: notifier_app(NotifierSettings(**s)),
}


def app_of(service: str) -> FastAPI:
    """The service's app as `run` builds it, configured with this run's credentials."""
    return BUILDERS[service]({"service_name": service} | settings_update(CREDENTIALS[service]))  # type: ignore[no-untyped-call]


def token(caller: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {CREDENTIALS[caller]['SWITCHBOARD_INTERNAL_TOKEN']}"}


def concrete(path: str) -> str:
    # any path parameter: the token check comes before routing and validation
    return re.sub(r"\{[^}]+\}", "demo", path)


def internal_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """Every operation of the service's internal app, from its OpenAPI document."""
    internal = internal_app_of(app)
    assert internal is not None
    for path, operations in internal.openapi()["paths"].items():
        for method in sorted(operations):
            yield method.upper(), concrete(path)


def every_route() -> list[tuple[str, str, str]]:
    return [(s, m, p) for s in BUILDERS for m, p in internal_routes(app_of(s))]


def test_the_enumeration_finds_the_routes_the_issue_names():
    found = set(every_route())
    assert {
        ("ingest", "GET", "/internal/practices/demo/attachments"),
        ("ingest", "POST", "/internal/practices/demo/files"),
        ("ingest", "GET", "/internal/practices/demo/lines"),
        ("pm-sync", "GET", "/internal/practices/demo/patients"),
        ("pm-sync", "GET", "/internal/practices/demo/patients/demo"),
        ("pm-sync", "POST", "/internal/practices/demo/sync"),
        ("router", "GET", "/internal/practices/demo/routing"),
        ("router", "GET", "/internal/practices/demo/reasons"),
        ("notifier", "GET", "/internal/practices/demo/notification-settings"),
    } <= found
    # the router's whole API, as its module declares it
    declared = {
        ("router", m, concrete(r.path))
        for r in router_api.routes
        for m in r.methods  # type: ignore[attr-defined]
    }
    assert declared <= found and len(declared) >= 7


@pytest.mark.parametrize("service", list(BUILDERS))
def test_the_public_app_serves_no_internal_route(service):
    app = app_of(service)
    assert not [r for r in app.routes if getattr(r, "path", "").startswith("/internal")]
    client = TestClient(app, raise_server_exceptions=False)
    for method, path in internal_routes(app):
        for headers in ({}, token("gateway")):
            r = client.request(method, path, headers=headers)
            assert r.status_code == 404, (service, method, path)


def test_the_issues_requests_on_ingests_public_port_are_404():
    client = TestClient(app_of("ingest"), raise_server_exceptions=False)
    got = client.get("/internal/practices/demo/attachments", params={"ref": "demo/x.jpg"})
    stored = client.post(
        "/internal/practices/demo/files", content=b"%PDF-", headers={"content-type": "x/y"}
    )
    assert (got.status_code, stored.status_code) == (404, 404)
    pm = TestClient(app_of("pm-sync"), raise_server_exceptions=False)
    assert pm.get("/internal/practices/demo/patients?phone=%2B12125550101").status_code == 404


@pytest.mark.parametrize(("service", "method", "path"), every_route())
def test_every_internal_route_refuses_anonymous_wrong_and_other_callers(service, method, path):
    app = app_of(service)
    client = TestClient(internal_app_of(app), raise_server_exceptions=False)  # type: ignore[arg-type]
    refused = [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic Z2F0ZXdheTp4"},
        # gateway's token with a different scheme
        {"Authorization": token("gateway")["Authorization"].replace("Bearer", "Token")},
    ]
    # a real token of a service that calls other services, but not this one
    refused += [token(c) for c in ("gateway", "ingest") if c not in CALLERS[service]]
    for headers in refused:
        r = client.request(method, path, headers=headers)
        assert r.status_code == 401, (service, method, path, headers)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 401 and "token" in r.json()["detail"]
        assert r.headers["www-authenticate"].startswith("Bearer")
    for caller in CALLERS[service]:
        assert client.request(method, path, headers=token(caller)).status_code != 401


def test_no_callers_configured_means_nobody_gets_in():
    app = router_app(RouterSettings(service_name="router"))
    client = TestClient(internal_app_of(app), raise_server_exceptions=False)  # type: ignore[arg-type]
    for headers in ({}, {"Authorization": "Bearer "}, token("gateway")):
        assert client.get("/internal/practices/demo/routing", headers=headers).status_code == 401


def test_authenticate_names_the_caller_and_accepts_each_token_of_a_rotation():
    callers = {
        "gateway": SecretStr("g-1"),
        "ingest": [SecretStr("i-old"), SecretStr("i-new")],
        "broken": SecretStr(""),
    }
    assert authenticate(callers, "Bearer g-1") == "gateway"
    assert authenticate(callers, "bearer i-old") == "ingest"
    assert authenticate(callers, "Bearer i-new") == "ingest"
    for header in (None, "", "Bearer", "Bearer ", "g-1", "Bearer g-", "Bearer g-1x", "Basic g-1"):
        assert authenticate(callers, header) == ""


def test_callers_from_the_environment_json(monkeypatch):
    monkeypatch.setenv(
        "SWITCHBOARD_INTERNAL_CALLERS", json.dumps({"gateway": "a", "ingest": ["b", "c"]})
    )
    callers = ServiceSettings().internal_callers
    assert authenticate(callers, "Bearer c") == "ingest"
    assert authenticate(callers, "Bearer a") == "gateway"


def test_the_callers_name_is_on_the_request_and_in_the_logs_never_the_token():
    stream = io.StringIO()
    configure_logging("test", "INFO", stream=stream)
    api = APIRouter()

    @api.get("/internal/who")
    def who(request: Request) -> dict[str, str]:
        from switchboard.platform.logging import get_logger

        get_logger("t").info("handled")
        return {"caller": request.state.internal_caller}

    public = FastAPI(title="t")
    internal = add_internal_api(public, {"gateway": SecretStr("s3cret-gw")}, api)
    client = TestClient(internal)
    assert client.get("/internal/who", headers={"Authorization": "Bearer s3cret-gw"}).json() == {
        "caller": "gateway"
    }
    assert client.get("/internal/who?phone=%2B12125550101").status_code == 401
    # the service's lines (not the test client's own httpx request lines)
    service = [line for line in stream.getvalue().splitlines() if "HTTP Request:" not in line]
    lines = {e["event"]: e for e in map(json.loads, service)}
    assert lines["handled"]["caller"] == "gateway"
    assert lines["internal_call_refused"]["path"] == "/internal/who"
    assert not [line for line in service if "s3cret" in line or "2125550101" in line]
    configure_logging("test", "INFO")  # back to stdout for the tests after this one


def test_dev_credentials_pair_exactly_the_callers():
    creds = dev_credentials()
    for callee, callers in CALLERS.items():
        accepted = json.loads(creds[callee]["SWITCHBOARD_INTERNAL_CALLERS"])
        assert accepted == {c: creds[c]["SWITCHBOARD_INTERNAL_TOKEN"] for c in callers}
    assert (
        creds["gateway"]["SWITCHBOARD_INTERNAL_TOKEN"]
        != dev_credentials()["gateway"]["SWITCHBOARD_INTERNAL_TOKEN"]
    )


def test_callers_are_the_services_with_a_peer_url_setting():
    """CALLERS (what up.sh, the tests and the NetworkPolicy allow) is what the code calls: a
    `<peer>_url` setting is a call to that peer's internal API."""
    from switchboard.gateway.settings import GatewaySettings

    classes = {"gateway": GatewaySettings, "ingest": IngestSettings, "router": RouterSettings}
    classes |= {"pm-sync": PmSyncSettings, "notifier": NotifierSettings}
    calls: dict[str, set[str]] = {}
    for caller, cls in classes.items():
        for field in cls.model_fields:
            peer = field.removesuffix("_url").replace("_", "-")
            if field.endswith("_url") and peer in CALLERS:
                calls.setdefault(peer, set()).add(caller)
    assert calls == {callee: set(callers) for callee, callers in CALLERS.items()}
