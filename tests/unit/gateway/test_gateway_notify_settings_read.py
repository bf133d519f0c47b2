"""GET /api/notify/practice-settings against a stand-in for the notifier's internal API
(httpx MockTransport): practice admins only, scoped to the token's practice (T-1), and what
the admin sees when the notifier is down. The notifier's side is in
tests/integration/test_notifier_settings_api.py.

# covers I-NOTIFY-1, T-1
"""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI

from switchboard.gateway.auth import Principal, issue_token
from switchboard.gateway.clients import Peers
from switchboard.gateway.routes.notify_admin import PracticeSettingsIn, router
from switchboard.gateway.settings import GatewaySettings

SETTINGS = GatewaySettings(
    notifier_url="http://notifier.test/", internal_token="internal-secret", notifier_timeout_s=2
)

CURRENT = {
    "link_target": "patient_page",
    "sla_minutes": 60,
    "sla_by_reason": [{"reason": "prescriptions_refills", "minutes": 30}],
    "timezone": "America/New_York",
    "business_hours": [{"weekday": 0, "start": "09:00", "end": "17:00"}],
    "holidays": ["2026-12-25"],
    "front_line_staff_ids": ["u-front-1"],
    "escalation_reassign_to": None,
    "coalesce_seconds": 120,
    "configured": True,
}


def token(role: str, practice: str = "demo") -> dict[str, str]:
    t = issue_token(Principal("u-1", practice, role, frozenset()), SETTINGS.jwt_secret, 60)
    return {"Authorization": f"Bearer {t}"}


def gateway(handler) -> httpx.AsyncClient:
    app = FastAPI()
    app.state.settings = SETTINGS
    app.state.runtime = SimpleNamespace(publisher=None)
    app.state.peers = Peers(SETTINGS, transport=httpx.MockTransport(handler))
    app.include_router(router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


async def test_admin_reads_their_own_practice_settings_in_the_put_shape():
    seen: list[httpx.Request] = []

    def notifier(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=CURRENT)

    async with gateway(notifier) as gw:
        r = await gw.get("/api/notify/practice-settings", headers=token("practice_admin", "p7"))
    assert r.status_code == 200 and r.json() == CURRENT
    [call] = seen
    assert str(call.url) == "http://notifier.test/internal/practices/p7/notification-settings"
    assert call.headers["authorization"] == "Bearer internal-secret"
    # What was read can be sent back as it is (less `configured`).
    body = {k: v for k, v in r.json().items() if k != "configured"}
    assert PracticeSettingsIn.model_validate(body).model_dump(mode="json") == body


async def test_defaults_when_the_practice_never_set_any():
    defaults = {
        "link_target": "inbox",
        "sla_minutes": None,
        "sla_by_reason": [],
        "timezone": "UTC",
        "business_hours": [],
        "holidays": [],
        "front_line_staff_ids": [],
        "escalation_reassign_to": None,
        "coalesce_seconds": 300,
        "configured": False,
    }

    async with gateway(lambda _r: httpx.Response(200, json=defaults)) as gw:
        r = await gw.get("/api/notify/practice-settings", headers=token("practice_admin"))
    assert r.status_code == 200 and r.json() == defaults


@pytest.mark.parametrize("role", ["staff", "api_client", "no_inbox", "platform_operator"])
async def test_anyone_but_a_practice_admin_is_refused(role):
    def notifier(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the notifier must not be called")

    async with gateway(notifier) as gw:
        r = await gw.get("/api/notify/practice-settings", headers=token(role))
        anonymous = await gw.get("/api/notify/practice-settings")
    assert r.status_code == 403 and "practice admin" in r.json()["detail"]
    assert anonymous.status_code == 401


async def test_notifier_unreachable_is_502_with_the_reason():
    def notifier(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with gateway(notifier) as gw:
        r = await gw.get("/api/notify/practice-settings", headers=token("practice_admin"))
    assert r.status_code == 502 and "notifier" in r.json()["detail"]


async def test_notifier_timeout_is_503_with_the_reason():
    def notifier(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with gateway(notifier) as gw:
        r = await gw.get("/api/notify/practice-settings", headers=token("practice_admin"))
    assert r.status_code == 503 and "did not answer within 2s" in r.json()["detail"]


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, json={"detail": "boom"}),
        httpx.Response(401, json={"detail": "internal token required"}),
        httpx.Response(200, text="not json"),
        httpx.Response(200, json={"link_target": "elsewhere", "configured": True}),
    ],
)
async def test_a_failing_or_unreadable_answer_is_502(answer):
    async with gateway(lambda _r: answer) as gw:
        r = await gw.get("/api/notify/practice-settings", headers=token("practice_admin"))
    assert r.status_code == 502 and "notification service" in r.json()["detail"]
