"""ingest in front of the real router process: what the channels send decides routing.

Voicemail extensions take a reason or a custom shared inbox (R-OVERWRITE-1, R-VOICEMAIL-1);
a text to the practice line clears the reason; a reply in an email thread staff linked
attaches to the patient, a new thread from the same address is unrecognized again
(I-THREAD-1); the messenger offers reasons only when the router says so, and its read
receipts reach the router (R-REASON-2, R-REASON-3)."""

from __future__ import annotations

import os
import time
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
    ConversationLinked,
    ConversationStatusChanged,
    PatientUpserted,
    ReplyRequested,
    RoutingSettingsChanged,
    StaffSubscriptionsSet,
    Topic,
    VoicemailExtensionMapped,
    deterministic_id,
)
from switchboard.ingest.adapters.twilio import signature
from switchboard.ingest.domain.received import thread_id
from switchboard.ingest.settings import IngestSettings, Line
from switchboard.platform.internal_api import settings_update
from switchboard.rules.signing import signed_headers

pytestmark = pytest.mark.integration

P = f"route-{uuid.uuid4().hex[:6]}"
MAIN = "+12125550000"
MAILBOX = f"front@{P}.test"
RX = "prescriptions_refills"
TOKEN = "it-twilio-token"
EMAIL_SECRET = "it-email-webhook-secret"
JANE = patient("pat-jane", "Jane", "Doe", "1980-02-29", phones=["+12125550101"])


def env(**kw: Any) -> dict[str, Any]:
    eid = uuid.uuid4()
    now = datetime.now(UTC)
    return {"event_id": eid, "occurred_at": now, "practice_id": P, "correlation_id": eid} | kw


@pytest.fixture(scope="module")
async def world(settings):
    def pm_sync(call):
        if call.path.endswith("/patients"):
            phone = call.query.get("phone", [""])[0]
            return 200, {"practice_id": P, "patients": [JANE] if phone in JANE["phones"] else []}
        return 404, {}

    peers = await JsonServer(pm_sync).start()
    with own_database(int(os.environ.get("PG_PORT", "55432"))) as db:
        s = IngestSettings(
            kafka_bootstrap=settings.kafka_bootstrap,
            database_url=db,
            topic_prefix=f"ingr{uuid.uuid4().hex[:6]}.",
            service_name="ingest-route-it",
            twilio_auth_token=TOKEN,
            email_webhook_secret=EMAIL_SECRET,
            practices=[P],
            lines=[
                Line(practice_id=P, channel="sms", address=MAIN, label="Front desk"),
                Line(practice_id=P, channel="voice", address=MAIN),
                Line(practice_id=P, channel="email", address=MAILBOX),
            ],
            attachment_dir=f"/tmp/sb-ingest-route-it-{uuid.uuid4().hex[:6]}",
            smtp_listen_port=free_port(),
            pm_sync_url=peers.url,
            dispatcher_poll_s=0.05,
        )
        await prepare(s)
        router = RouterProcess(s, db, group_prefix="ingest-it-")
        router.start()
        # ingest asks the router's internal API with ingest's own token
        s = s.model_copy(
            update={"router_url": router.internal_url}
            | settings_update(router.credentials["ingest"])
        )
        try:
            async with (
                running_ingest(s) as (app, client),
                TopicReader(s, Topic.ROUTING) as routing,
            ):
                w = World(s, app, client, routing, router)
                await w.publish(
                    RoutingSettingsChanged(**env(), actor="u-admin", reason_routing=True),
                    StaffSubscriptionsSet(**env(), actor="u-admin", staff_id="u-ma", reasons=(RX,)),
                    VoicemailExtensionMapped(**env(), actor="u-admin", extension="3", target=RX),
                    VoicemailExtensionMapped(
                        **env(), actor="u-admin", extension="5", target="shared:billing-team"
                    ),
                    PatientUpserted(
                        **env(),
                        patient_id="pat-jane",
                        given_name="Jane",
                        family_name="Doe",
                        phones=("+12125550101",),
                        source_updated_at=datetime.now(UTC),
                    ),
                )
                await eventually(w.configured, within=30)
                yield w
        finally:
            router.stop()
            await peers.stop()


class World:
    def __init__(self, s, app, client, routing, router) -> None:
        self.s, self.app, self.client, self.routing, self.router = s, app, client, routing, router

    async def publish(self, *events) -> None:
        await self.app.state.runtime.publisher.publish(list(events))

    async def configured(self) -> bool:
        async with httpx.AsyncClient(headers=self.router.auth) as c:
            r = await c.get(f"{self.router.internal_url}/internal/practices/{P}/routing")
        body = r.json()
        return (
            r.status_code == 200
            and body["reason_routing"]
            and "5" in body["voicemail_extensions"]
            and bool(body["subscriptions"])
        )

    async def form(self, path: str, params: dict[str, str]) -> httpx.Response:
        url = f"http://testserver{path}"
        return await self.client.post(
            url, data=params, headers={"X-Twilio-Signature": signature(TOKEN, url, params)}
        )

    async def routed(self, message_id: uuid.UUID):
        await eventually(lambda: self.routing.of("MessageRouted", message_id=message_id), within=30)
        return self.routing.of("MessageRouted", message_id=message_id)[0]


async def voicemail(w: World, caller: str, extension: str | None):
    rec = f"RE{uuid.uuid4().hex}"
    params = {
        "CallSid": f"CA{uuid.uuid4().hex}",
        "RecordingSid": rec,
        "RecordingUrl": f"https://api.example/Recordings/{rec}",
        "RecordingDuration": "12",
        "From": caller,
        "To": MAIN,
        "TranscriptionText": "hello",
    } | ({"Digits": extension} if extension else {})
    assert (await w.form(f"/webhooks/twilio/voicemail/{P}", params)).status_code == 200
    return await w.routed(deterministic_id(P, "twilio-voicemail", rec))


async def test_voicemail_extension_maps_to_a_reason_or_a_shared_inbox(world):
    refill = await voicemail(world, "+12125550177", "3")
    # covers R-OVERWRITE-1: "press 3 for refills" takes that reason
    assert refill.reason == RX
    assert refill.reason_source == "voicemail_extension"
    assert "u-ma" in refill.recipients
    billing = await voicemail(world, "+12125550178", "5")
    # covers R-VOICEMAIL-1: an extension mapped to a custom shared inbox keeps working
    assert "shared:billing-team" in billing.inboxes and billing.reason_source == "cleared"
    plain = await voicemail(world, "+12125550179", None)
    assert plain.reason_source == "cleared"  # covers R-OVERWRITE-1: a voicemail clears


async def test_a_reply_in_a_linked_email_thread_attaches_to_the_patient(world):
    def mail(mid: str, reply_to: str | None = None) -> bytes:
        head = f"From: J <jdoe@home.test>\r\nTo: {MAILBOX}\r\nSubject: Hi\r\nMessage-ID: {mid}\r\n"
        if reply_to:
            head += f"In-Reply-To: {reply_to}\r\nReferences: {reply_to}\r\n"
        return (head + "\r\nhello\r\n").encode()

    async def post(raw: bytes):
        h = {
            "content-type": "message/rfc822",
            **signed_headers(EMAIL_SECRET, int(time.time()), raw),
        }
        assert (
            await world.client.post("/webhooks/email", content=raw, headers=h)
        ).status_code == 200

    first = f"<{uuid.uuid4().hex}@home.test>"
    await post(mail(first))
    unrecognized = await world.routed(deterministic_id(P, "email", first))
    assert unrecognized.patient_id is None  # an address of no patient
    await world.publish(
        ConversationLinked(
            **env(),
            conversation_id=unrecognized.conversation_id,
            actor="u-front",
            patient_id="pat-jane",
        )
    )
    second = f"<{uuid.uuid4().hex}@home.test>"
    await post(mail(second, reply_to=first))
    in_thread = await world.routed(deterministic_id(P, "email", second))
    # covers I-THREAD-1: the reply in the linked thread is the patient's, automatically
    assert in_thread.conversation_id == unrecognized.conversation_id
    assert in_thread.patient_id == "pat-jane"
    third = f"<{uuid.uuid4().hex}@home.test>"
    await post(mail(third))
    new_thread = await world.routed(deterministic_id(P, "email", third))
    # covers I-THREAD-1: a new thread from the same address is unrecognized again
    assert new_thread.conversation_id != unrecognized.conversation_id
    assert new_thread.patient_id is None


async def test_messenger_asks_for_a_reason_only_when_the_rules_allow(world):
    page = f"/patient/{P}"
    r = await world.client.post(
        f"{page}/sessions",
        json={
            "given_name": "Jane",
            "family_name": "Doe",
            "birth_date": "1980-02-29",
            "phone": "+12125550101",
        },
    )
    assert r.status_code == 201, r.text
    auth = {"Authorization": f"Bearer {r.json()['token']}"}
    conversation = uuid.UUID(r.json()["conversation_id"])
    assert conversation == thread_id(P, MAIN, "+12125550101")

    async def picker():
        return (await world.client.get(f"{page}/reasons", headers=auth)).json()

    first = await picker()
    # covers R-REASON-2: a new conversation asks, offering reasons with a subscriber + Other
    assert first["show_picker"] and first["why"] == "new_conversation"
    assert [x["code"] for x in first["reasons"]] == [RX, "other"]
    r = await world.client.post(
        f"{page}/messages",
        json={"client_message_id": "m1", "body": "Refill please", "reason": RX},
        headers=auth,
    )
    assert r.status_code == 202, r.text
    routed = await world.routed(uuid.UUID(r.json()["message_id"]))
    assert routed.reason == RX and routed.reason_source == "patient_pick"
    assert routed.patient_id == "pat-jane" and "u-ma" in routed.recipients

    async def why(expected: str) -> bool:
        answer = await picker()
        return answer["why"] == expected and not answer["show_picker"] and answer["reasons"] == []

    # covers R-REASON-3: while the conversation sits in an inbox, no picker
    await eventually(lambda: why("assigned"), within=30)
    await world.publish(
        ConversationStatusChanged(
            **env(), conversation_id=conversation, actor="u-front", status="closed"
        )
    )
    # closed, but the patient wrote less than an hour ago
    await eventually(lambda: why("within_one_hour"), within=30)
    mid = uuid.uuid4()
    await world.publish(
        ReplyRequested(
            **env(event_id=mid, correlation_id=mid),
            conversation_id=conversation,
            actor="u-ma",
            message_id=mid,
            channel="web_chat",
            line=MAIN,
            to="+12125550101",
            body="Sent to your pharmacy.",
            requested_at=datetime.now(UTC),
        )
    )
    # the practice's reply is unread: no picker until the patient reads it
    await eventually(lambda: why("unread_practice_message"), within=30)
    assert (await world.client.post(f"{page}/messages/{mid}/read", headers=auth)).status_code == 204
    await eventually(lambda: why("within_one_hour"), within=30)

    # covers R-OVERWRITE-1: a text to the practice line in the same thread clears the reason
    sid = f"SM{uuid.uuid4().hex}"
    params = {"MessageSid": sid, "From": "+12125550101", "To": MAIN, "Body": "new topic"}
    assert (await world.form(f"/webhooks/twilio/sms/{P}", params)).status_code == 200
    cleared = await world.routed(deterministic_id(P, "twilio", sid))
    assert cleared.conversation_id == conversation and cleared.reason_source == "cleared"
