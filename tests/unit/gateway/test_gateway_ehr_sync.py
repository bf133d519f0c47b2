"""Gateway "Sync with EHR" (POST /api/admin/ehr-sync) against a stand-in for pm-sync
(httpx MockTransport): who may call it, and what the admin sees when pm-sync fails.
The real chain (gateway -> pm-sync -> FHIR server) is in tests/integration/test_pm_sync_service.py.

# covers T-2 (practice admins manage routing settings), T-1 (the practice comes from the token)
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from switchboard.gateway.auth import Principal, issue_token
from switchboard.gateway.clients import Peers
from switchboard.gateway.routes.ehr import router
from switchboard.gateway.settings import GatewaySettings

SETTINGS = GatewaySettings(pm_sync_url="http://pm-sync.test", pm_sync_timeout_s=2)


def token(role: str, practice: str = "demo") -> dict[str, str]:
    t = issue_token(Principal("u-1", practice, role, frozenset()), SETTINGS.jwt_secret, 60)
    return {"Authorization": f"Bearer {t}"}


def gateway(handler) -> httpx.AsyncClient:
    app = FastAPI()
    app.state.settings = SETTINGS
    app.state.peers = Peers(SETTINGS, transport=httpx.MockTransport(handler))
    app.include_router(router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


COUNTS = {"practice_id": "demo", "locations": 3, "providers": 10, "invalid": 0, "pages": 2}


async def test_admin_gets_the_counts_for_their_own_practice():
    seen = []

    def pm_sync(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=COUNTS)

    async with gateway(pm_sync) as gw:
        r = await gw.post("/api/admin/ehr-sync", headers=token("practice_admin"))
    assert r.status_code == 200 and r.json() == COUNTS
    assert seen == ["http://pm-sync.test/internal/practices/demo/sync"]


@pytest.mark.parametrize("role", ["staff", "api_client", "no_inbox", "platform_operator"])
async def test_anyone_but_a_practice_admin_is_refused(role):
    def pm_sync(request: httpx.Request) -> httpx.Response:
        raise AssertionError("pm-sync must not be called")

    async with gateway(pm_sync) as gw:
        r = await gw.post("/api/admin/ehr-sync", headers=token(role))
        anonymous = await gw.post("/api/admin/ehr-sync")
    assert r.status_code == 403
    assert anonymous.status_code == 401


async def test_pm_sync_timeout_is_504_with_the_reason():
    def pm_sync(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with gateway(pm_sync) as gw:
        r = await gw.post("/api/admin/ehr-sync", headers=token("practice_admin"))
    assert r.status_code == 504 and "did not answer within 2s" in r.json()["detail"]


async def test_pm_sync_unreachable_is_502():
    def pm_sync(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with gateway(pm_sync) as gw:
        r = await gw.post("/api/admin/ehr-sync", headers=token("practice_admin"))
    assert r.status_code == 502 and "unreachable" in r.json()["detail"]


async def test_fhir_failure_reported_by_pm_sync_is_502_with_its_reason():
    def pm_sync(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, json={"detail": "FHIR server: Location: HTTP 503"})

    async with gateway(pm_sync) as gw:
        r = await gw.post("/api/admin/ehr-sync", headers=token("practice_admin"))
    assert r.status_code == 502 and "HTTP 503" in r.json()["detail"]


async def test_practice_without_an_ehr_is_409():
    def pm_sync(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": "this practice has no FHIR server configured"})

    async with gateway(pm_sync) as gw:
        r = await gw.post("/api/admin/ehr-sync", headers=token("practice_admin", "other"))
    assert r.status_code == 409
