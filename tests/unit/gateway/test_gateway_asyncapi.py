"""GET /api/asyncapi.yaml: the committed AsyncAPI document, for signed-in users (issue 16)."""

from __future__ import annotations

import httpx
import yaml
from fastapi import FastAPI

from switchboard.events.asyncapi import DOCUMENT_PATH
from switchboard.gateway.auth import Principal, issue_token
from switchboard.gateway.routes.event_docs import router
from switchboard.gateway.settings import GatewaySettings

SETTINGS = GatewaySettings()


def gateway() -> httpx.AsyncClient:
    app = FastAPI()
    app.state.settings = SETTINGS
    app.include_router(router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


async def test_signed_in_users_get_the_committed_document_and_anonymous_callers_do_not():
    staff = issue_token(Principal("u-1", "demo", "staff", frozenset()), SETTINGS.jwt_secret, 60)
    async with gateway() as client:
        anonymous = await client.get("/api/asyncapi.yaml")
        served = await client.get(
            "/api/asyncapi.yaml", headers={"Authorization": f"Bearer {staff}"}
        )
    assert anonymous.status_code == 401
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("application/yaml")
    assert served.text == DOCUMENT_PATH.read_text()
    assert yaml.safe_load(served.text)["asyncapi"] == "3.0.0"
