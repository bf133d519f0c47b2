"""The gateway's event webhook routes (/api/admin/event-webhooks, ADR 0022) against a
stand-in for the notifier's internal API (httpx MockTransport): practice admins only, every
call scoped to the token's practice (T-1), the notifier's 404/422 passed through with their
reason, its other failures a 502, and the secret of a new endpoint in that answer. The
notifier's side is in tests/integration/test_event_webhooks.py.

# covers T-1
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import httpx
from fastapi import FastAPI

from switchboard.events.public import content_type_names, public_type_names
from switchboard.gateway.auth import Principal, issue_token
from switchboard.gateway.clients import Peers
from switchboard.gateway.routes.event_webhooks import router
from switchboard.gateway.settings import GatewaySettings

SETTINGS = GatewaySettings(
    notifier_url="http://notifier.test/", internal_token="internal-secret", notifier_timeout_s=2
)
EID = str(uuid.uuid4())
ENDPOINT = {
    "endpoint_id": EID,
    "url": "https://ehr.example/hook",
    "description": "EHR",
    "event_types": ["public.reply.sent"],
    "status": "paused",
    "paused_reason": "20 failures in a row",
    "consecutive_failures": 20,
    "created_at": "2026-12-07T09:00:00+00:00",
    "updated_at": "2026-12-07T09:00:00+00:00",
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


async def test_admins_list_their_practices_endpoints_and_the_types_they_may_choose() -> None:
    seen: list[httpx.Request] = []

    def notifier(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"endpoints": [ENDPOINT]})

    async with gateway(notifier) as gw:
        r = await gw.get("/api/admin/event-webhooks", headers=token("practice_admin", "p7"))
        refused = await gw.get("/api/admin/event-webhooks", headers=token("staff", "p7"))
    assert r.status_code == 200
    assert r.json()["endpoints"][0]["status"] == "paused"
    assert r.json()["event_types"] == list(public_type_names())
    assert r.json()["content_types"] == list(content_type_names())
    assert refused.status_code == 403
    [call] = seen  # the refused call never reached the notifier
    assert str(call.url) == "http://notifier.test/internal/practices/p7/event-webhooks"
    assert call.headers["authorization"] == "Bearer internal-secret"


async def test_a_new_endpoints_secret_is_in_the_answer_and_refusals_pass_through() -> None:
    def notifier(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/event-webhooks"):
            body = request.read()
            if b"http://" in body:
                return httpx.Response(422, json={"detail": "url: https is required"})
            return httpx.Response(200, json=ENDPOINT | {"secret": "whsec_abc"})
        if request.url.path.endswith("/deliveries"):
            return httpx.Response(404, json={"detail": "no such event webhook endpoint"})
        return httpx.Response(500, json={"detail": "boom"})

    admin = token("practice_admin", "p7")
    body = {"url": "https://ehr.example/hook", "event_types": ["public.reply.sent"]}
    async with gateway(notifier) as gw:
        made = await gw.post("/api/admin/event-webhooks", json=body, headers=admin)
        plain = await gw.post(
            "/api/admin/event-webhooks", json=body | {"url": "http://ehr.example"}, headers=admin
        )
        missing = await gw.get(f"/api/admin/event-webhooks/{EID}/deliveries", headers=admin)
        broken = await gw.post(f"/api/admin/event-webhooks/{EID}/resume", headers=admin)
    assert made.status_code == 201 and made.json()["secret"] == "whsec_abc"
    assert plain.status_code == 422 and "https" in plain.json()["detail"]
    assert missing.status_code == 404
    assert broken.status_code == 502
