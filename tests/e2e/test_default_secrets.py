"""No public default secrets in the system as `make up` runs it (issue 13, item 1): a
practice-admin token forged with the key that used to be the code's default is refused, and
webhooks signed with the old default Twilio token are refused; the run's own secrets work."""

from __future__ import annotations

import httpx
import pytest

from switchboard.gateway.auth import Principal, issue_token
from switchboard.ingest.adapters.twilio import signature

pytestmark = pytest.mark.e2e

OLD_JWT_DEFAULT = "dev-only-secret-change-me-0123456789abcdef"
OLD_TWILIO_DEFAULT = "dev-twilio-auth-token"


def test_a_practice_admin_token_forged_with_the_old_default_key_is_refused(system):
    forged = issue_token(
        Principal("u-admin", "demo", "practice_admin", frozenset({"inbox.full_patient"})),
        OLD_JWT_DEFAULT,
        3600,
    )
    for path in ("/api/admin/routing", "/api/admin/routing/history", "/api/me"):
        r = httpx.get(f"{system.gateway}{path}", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401, (path, r.status_code)
    # The same endpoint with a token the gateway issued: the refusal is about the key.
    signed_in = system.login("admin@demo", "demo-admin")
    assert httpx.get(f"{system.gateway}/api/admin/routing", headers=signed_in).status_code == 200


def test_webhooks_signed_with_the_old_default_token_are_refused(system):
    url = f"{system.ingest}/webhooks/twilio/sms/demo"
    params = {"MessageSid": "SMforged0001", "From": "+12125550123", "To": "+12125550000"}
    params["Body"] = "forged"
    forged = httpx.post(
        url, data=params, headers={"X-Twilio-Signature": signature(OLD_TWILIO_DEFAULT, url, params)}
    )
    assert forged.status_code == 403
    params["MessageSid"] = "SMgenuine001"
    genuine = httpx.post(
        url,
        data=params,
        headers={"X-Twilio-Signature": signature(system.twilio_token, url, params)},
    )
    assert genuine.status_code == 200
