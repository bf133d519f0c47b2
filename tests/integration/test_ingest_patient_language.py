"""The patient page in Spanish through the real ingest, in front of the real router
(X-LANG-1): before sign-in the browser's Accept-Language chooses; a patient whose preferred
language in the PM system is Spanish signs in to a Spanish page (unless they switched); the
reasons the router offers come in Spanish, with the practice's own words where it set them;
a message with a reason picked goes through."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from ingest_support import JsonServer, own_database, prepare, running_ingest
from notifier_support import TopicReader, eventually, free_port
from peer_answers import patient
from router_process import RouterProcess

from switchboard.events import (
    RoutingSettingsChanged,
    StaffSubscriptionsSet,
    Topic,
)
from switchboard.ingest.settings import IngestSettings, Line
from switchboard.platform.internal_api import settings_update

pytestmark = pytest.mark.integration

P = f"lang-{uuid.uuid4().hex[:6]}"
MAIN = "+12125550000"
BILLING = "billing"
ROSA = patient(
    "pat-rosa",
    "Rosa",
    "Martínez",
    "1975-06-01",
    phones=["+12125550177"],
    preferred_language="es-MX",
)
JOHN = ROSA | {
    "patient_id": "pat-john",
    "given_name": "John",
    "family_name": "Smith",
    "phones": ["+12125550178"],
    "preferred_language": "en",
}


def env(**kw: Any) -> dict[str, Any]:
    eid = uuid.uuid4()
    now = datetime.now(UTC)
    return {"event_id": eid, "occurred_at": now, "practice_id": P, "correlation_id": eid} | kw


@pytest.fixture(scope="module")
async def world(settings):
    def pm_sync(call):
        if call.path.endswith("/patients"):
            phone = call.query.get("phone", [""])[0]
            found = [p for p in (ROSA, JOHN) if phone in p["phones"]]
            return 200, {"practice_id": P, "patients": found}
        return 404, {}

    peers = await JsonServer(pm_sync).start()
    with own_database(int(os.environ.get("PG_PORT", "55432"))) as db:
        s = IngestSettings(
            kafka_bootstrap=settings.kafka_bootstrap,
            database_url=db,
            topic_prefix=f"inglang{uuid.uuid4().hex[:6]}.",
            service_name="ingest-lang-it",
            twilio_auth_token="it-twilio-token",
            email_webhook_secret="it-email-webhook-secret",
            practices=[P],
            lines=[Line(practice_id=P, channel="sms", address=MAIN, label="Front desk")],
            attachment_dir=f"/tmp/sb-ingest-lang-it-{uuid.uuid4().hex[:6]}",
            smtp_listen_port=free_port(),
            pm_sync_url=peers.url,
            dispatcher_poll_s=0.05,
            # the practice's own Spanish name for Billing (X-LANG-3)
            reason_translations={P: {"es": {BILLING: {"label": "Pagos y seguro"}}}},
        )
        await prepare(s)
        router = RouterProcess(s, db, group_prefix="ingest-lang-it-")
        router.start()
        s = s.model_copy(
            update={"router_url": router.internal_url}
            | settings_update(router.credentials["ingest"])
        )
        try:
            async with (
                running_ingest(s) as (app, client),
                TopicReader(s, Topic.ROUTING) as routing,
            ):
                await app.state.runtime.publisher.publish(
                    [
                        RoutingSettingsChanged(**env(), actor="u-admin", reason_routing=True),
                        StaffSubscriptionsSet(
                            **env(), actor="u-admin", staff_id="u-ma", reasons=(BILLING,)
                        ),
                    ]
                )

                async def configured() -> bool:
                    async with httpx.AsyncClient(headers=router.auth) as c:
                        r = await c.get(f"{router.internal_url}/internal/practices/{P}/routing")
                    return r.status_code == 200 and bool(r.json()["subscriptions"])

                await eventually(configured, within=60)
                yield client, routing
        finally:
            router.stop()
            await peers.stop()


async def sign_in(client, who: dict[str, Any], **extra: Any) -> httpx.Response:
    body = {
        "given_name": who["given_name"],
        "family_name": who["family_name"],
        "birth_date": who["birth_date"],
        "phone": who["phones"][0],
    }
    return await client.post(f"/patient/{P}/sessions", json=body | extra.pop("body", {}), **extra)


async def test_before_sign_in_the_browsers_language_chooses(world):
    # covers X-LANG-2, X-LANG-1
    client, _ = world
    es = await client.get(f"/patient/{P}/practice", headers={"accept-language": "es-419,en;q=.5"})
    assert es.status_code == 200
    assert es.json()["language"] == "es" and "emergencia" in es.json()["emergency_notice"]
    en = await client.get(f"/patient/{P}/practice", headers={"accept-language": "en-GB"})
    assert en.json()["language"] == "en" and "emergency" in en.json()["emergency_notice"]
    words = await client.get("/patient-assets/text/es")
    assert words.json()["signin_heading"] == "Confirme su identidad"


async def test_a_spanish_speaking_patient_gets_the_page_and_reasons_in_spanish(world):
    # covers X-LANG-1, X-LANG-2, X-LANG-3
    client, routing = world
    # an English browser, but the PM system says Spanish
    r = await sign_in(client, ROSA, headers={"accept-language": "en-US"})
    assert r.status_code == 201, r.text
    assert r.json()["language"] == "es"
    auth = {"authorization": f"Bearer {r.json()['token']}", "accept-language": "es"}
    offer = (await client.get(f"/patient/{P}/reasons", headers=auth)).json()
    assert offer["show_picker"], offer
    assert [(x["code"], x["label"]) for x in offer["reasons"]] == [
        (BILLING, "Pagos y seguro"),  # the practice's own words
        ("other", "Otro"),  # the built-in Spanish
    ]
    assert offer["reasons"][1]["description"].startswith("Cualquier otra cosa")
    # the page asks in English (the switch): the same reasons in the router's words
    english = await client.get(f"/patient/{P}/reasons", headers=auth | {"accept-language": "en"})
    assert [x["label"] for x in english.json()["reasons"]] == ["Billing", "Other"]
    sent = await client.post(
        f"/patient/{P}/messages",
        json={"client_message_id": "m-es", "body": "¿Cuánto debo?", "reason": BILLING},
        headers=auth,
    )
    assert sent.status_code == 202, sent.text
    message_id = uuid.UUID(sent.json()["message_id"])
    await eventually(lambda: routing.of("MessageRouted", message_id=message_id), within=30)
    [routed] = routing.of("MessageRouted", message_id=message_id)
    assert routed.reason == BILLING and routed.reason_source == "patient_pick"


async def test_the_switch_wins_over_the_preferred_language(world):
    # covers X-LANG-2
    client, _ = world
    r = await sign_in(client, ROSA, body={"language": "en"})
    assert r.status_code == 201 and r.json()["language"] == "en"
    # an English-speaking patient on a Spanish browser: the PM system's language wins
    r = await sign_in(client, JOHN, headers={"accept-language": "es"})
    assert r.status_code == 201 and r.json()["language"] == "en"
    # a language the page does not speak: the next in line
    r = await sign_in(client, JOHN, body={"language": "fr"}, headers={"accept-language": "es"})
    assert r.json()["language"] == "en"
