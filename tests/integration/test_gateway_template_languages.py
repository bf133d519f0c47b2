"""Reply templates with a body per language through the real gateway and its database
(X-LANG-4): an admin saves a template with a Spanish body; listing for a Spanish-speaking
patient ("es-MX") gives the Spanish body, for any other language the default; the bodies
survive an edit and bad ones are refused with a reason."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from inbox_support import PRACTICE, in_process, user

from switchboard.gateway.app import MIGRATIONS as GATEWAY_MIGRATIONS
from switchboard.gateway.app import build_app as gateway_app
from switchboard.gateway.auth import Principal, issue_token
from switchboard.gateway.settings import GatewaySettings
from switchboard.gateway.users import upsert_users
from switchboard.platform.migrations import upgrade

pytestmark = pytest.mark.integration

SECRET = "template-lang-jwt-secret-0123456789abcdef"
ADMIN = user("tl-admin", "practice_admin")
STAFF = user("tl-ma", "staff")


def auth(who: dict[str, Any]) -> dict[str, str]:
    p = Principal(who["user_id"], PRACTICE, who["role"], frozenset(who.get("policies", ())))
    return {"Authorization": f"Bearer {issue_token(p, SECRET, 3600)}"}


@pytest.fixture(scope="module")
async def gateway(settings, own_db):
    upgrade(GATEWAY_MIGRATIONS, own_db)
    upsert_users(own_db, [ADMIN, STAFF])
    app = gateway_app(
        GatewaySettings(
            service_name="gateway",
            kafka_bootstrap=settings.kafka_bootstrap,
            database_url=own_db,
            topic_prefix=f"tlang{uuid.uuid4().hex[:6]}.",
            jwt_secret=SECRET,
        )
    )
    async with in_process(app, "http://gateway") as client:
        yield client


async def test_a_reply_template_uses_the_patients_language_else_the_default(gateway):
    # covers X-LANG-4
    template = {
        "name": "Refill ready",
        "body": "Hi {{first_name}}, your refill is ready at {{location}}.",
        "bodies": {"es": "Hola {{first_name}}, su resurtido está listo en {{location}}."},
    }
    r = await gateway.put("/api/admin/templates/refill", json=template, headers=auth(ADMIN))
    assert r.status_code == 201, r.text
    assert r.json()["bodies"] == template["bodies"]

    async def listed(language: str | None) -> dict[str, Any]:
        params = {"language": language} if language else {}
        r = await gateway.get("/api/templates", params=params, headers=auth(STAFF))
        assert r.status_code == 200, r.text
        [found] = [t for t in r.json()["templates"] if t["template_id"] == "refill"]
        return dict(found)

    spanish = await listed("es-MX")
    assert spanish["for_language"] == {"language": "es", "body": template["bodies"]["es"]}
    assert spanish["body"] == template["body"]  # the default stays what it was
    for other in ("ko", "en"):
        assert (await listed(other))["for_language"] == {"language": None, "body": template["body"]}
    assert "for_language" not in await listed(None)

    # an edit that keeps the Spanish body keeps it; an empty one removes it
    edited = template | {"body": "Hello {{first_name}}, your refill is ready."}
    r = await gateway.put("/api/admin/templates/refill", json=edited, headers=auth(ADMIN))
    assert r.status_code == 200 and r.json()["bodies"] == template["bodies"]
    r = await gateway.put(
        "/api/admin/templates/refill", json=edited | {"bodies": {"es": " "}}, headers=auth(ADMIN)
    )
    assert r.status_code == 200 and r.json()["bodies"] == {}
    assert (await listed("es"))["for_language"] == {"language": None, "body": edited["body"]}


async def test_a_bad_language_body_is_refused_with_a_reason(gateway):
    # covers X-LANG-4
    bad_key = {"name": "X", "body": "Hello", "bodies": {"Spanish!": "Hola"}}
    r = await gateway.put("/api/admin/templates/x", json=bad_key, headers=auth(ADMIN))
    assert r.status_code == 422 and "not a language code" in r.json()["detail"]
    typo = {"name": "X", "body": "Hello", "bodies": {"es": "Hola {{nombre}}"}}
    r = await gateway.put("/api/admin/templates/x", json=typo, headers=auth(ADMIN))
    assert r.status_code == 422 and "{{nombre}}" in r.json()["detail"]
    r = await gateway.put("/api/admin/templates/x", json=typo, headers=auth(STAFF))
    assert r.status_code == 403
