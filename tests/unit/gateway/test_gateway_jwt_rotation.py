"""Staff session keys: rotation (previous keys verify during a grace period, never sign) and
no public default key (issue 13, item 1: a practice-admin token forged with the old default
key was accepted on every admin endpoint)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import jwt
from fastapi import FastAPI

from switchboard.gateway.auth import Principal, issue_token, read_token
from switchboard.gateway.clients import Peers
from switchboard.gateway.routes.ehr import router
from switchboard.gateway.settings import GatewaySettings

OLD_PUBLIC_DEFAULT = "dev-only-secret-change-me-0123456789abcdef"
CURRENT = "current-key-" + "c" * 40
PREVIOUS = "previous-key-" + "p" * 40
ADMIN = Principal("u-admin", "demo", "practice_admin", frozenset())


def gateway(settings: GatewaySettings) -> httpx.AsyncClient:
    """The admin "Sync with EHR" endpoint with pm-sync stood in: 200 once authenticated."""
    app = FastAPI()
    app.state.settings = settings
    counts = {"practice_id": "demo", "locations": 0, "providers": 0, "invalid": 0, "pages": 1}
    stand_in = httpx.MockTransport(lambda r: httpx.Response(200, json=counts))
    app.state.peers = Peers(settings, transport=stand_in)
    app.include_router(router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_token_forged_with_the_old_default_key_is_refused_by_default_settings():
    forged = issue_token(ADMIN, OLD_PUBLIC_DEFAULT, 3600)
    s = GatewaySettings()
    async with gateway(s) as gw:
        refused = await gw.post("/api/admin/ehr-sync", headers=bearer(forged))
        genuine = await gw.post(
            "/api/admin/ehr-sync", headers=bearer(issue_token(ADMIN, s.jwt_secret, 60))
        )
    assert refused.status_code == 401
    assert genuine.status_code == 200


def test_no_two_gateways_share_a_default_key_and_none_is_public():
    a, b = GatewaySettings(), GatewaySettings()
    keys = {a.jwt_secret.get_secret_value(), b.jwt_secret.get_secret_value()}
    assert len(keys) == 2 and OLD_PUBLIC_DEFAULT not in keys
    assert all(len(k) >= 32 for k in keys)


async def test_a_previous_key_verifies_until_the_given_time_and_not_after():
    old_token = issue_token(ADMIN, PREVIOUS, 3600)
    during = GatewaySettings(
        jwt_secret=CURRENT,
        jwt_previous_secrets=[PREVIOUS],
        jwt_previous_until=datetime.now(UTC) + timedelta(hours=1),
    )
    after = GatewaySettings(
        jwt_secret=CURRENT,
        jwt_previous_secrets=[PREVIOUS],
        jwt_previous_until=datetime.now(UTC) - timedelta(seconds=1),
    )
    async with gateway(during) as gw:
        assert (await gw.post("/api/admin/ehr-sync", headers=bearer(old_token))).status_code == 200
    async with gateway(after) as gw:
        assert (await gw.post("/api/admin/ehr-sync", headers=bearer(old_token))).status_code == 401


def test_without_an_end_time_the_grace_period_is_one_token_lifetime():
    s = GatewaySettings(jwt_secret=CURRENT, jwt_previous_secrets=[PREVIOUS], token_ttl_s=600)
    old_token = issue_token(ADMIN, PREVIOUS, 600)
    assert read_token(old_token, s.jwt_verification_keys()) == ADMIN
    later = time.time() + 601
    assert read_token(old_token, s.jwt_verification_keys(now=later)) is None
    assert s.jwt_verification_keys(now=later) == [CURRENT]


def test_previous_keys_never_sign_and_the_old_public_default_never_verifies():
    s = GatewaySettings(
        jwt_secret=CURRENT,
        jwt_previous_secrets=[PREVIOUS, OLD_PUBLIC_DEFAULT],
        jwt_previous_until=datetime.now(UTC) + timedelta(hours=1),
    )
    # The login path signs with jwt_secret: the token verifies with the current key alone.
    new_token = issue_token(ADMIN, s.jwt_secret, s.token_ttl_s)
    jwt.decode(new_token, CURRENT, algorithms=["HS256"])
    # Even listed as a previous key by mistake, the old public default verifies nothing.
    forged = issue_token(ADMIN, OLD_PUBLIC_DEFAULT, 3600)
    assert read_token(forged, s.jwt_verification_keys()) is None


def test_previous_keys_from_the_environment_as_one_key_or_a_json_list(monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_JWT_PREVIOUS_SECRETS", PREVIOUS)
    assert [k.get_secret_value() for k in GatewaySettings().jwt_previous_secrets] == [PREVIOUS]
    monkeypatch.setenv("SWITCHBOARD_JWT_PREVIOUS_SECRETS", f'["{PREVIOUS}", "{CURRENT}"]')
    keys = [k.get_secret_value() for k in GatewaySettings().jwt_previous_secrets]
    assert keys == [PREVIOUS, CURRENT]
