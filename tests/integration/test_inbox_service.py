"""The inbox from webhook to API through the real Kafka and PostgreSQL: ingest (in process)
takes a signed SMS webhook, the router and the inbox projection run as processes, and the
gateway (in process) lists, reads, searches and acts. Then a rebuild from offset 0 gives the
same rows as the live projection.

Each test makes the conversations it acts on (`refill_request`): none depends on another
having run first, so they pass alone and in any order (pytest-randomly shuffles them). Only
the running services and the users are shared (the module's `world`)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from inbox_support import (
    OTHER,
    PRACTICE,
    ServiceProcess,
    eventually,
    in_process,
    patient,
    phone,
    user,
)
from sqlalchemy import text

from switchboard.events import (
    MessageReceived,
    NoteAdded,
    StaffSubscriptionsSet,
    deterministic_id,
    encode,
    topic_for,
)
from switchboard.gateway.app import MIGRATIONS as GATEWAY_MIGRATIONS
from switchboard.gateway.app import build_app as gateway_app
from switchboard.gateway.auth import Principal, issue_token
from switchboard.gateway.readmodel import staff_access
from switchboard.gateway.settings import GatewaySettings
from switchboard.gateway.users import upsert_users
from switchboard.inbox_projection.app import MIGRATIONS as INBOX_MIGRATIONS
from switchboard.inbox_projection.app import TOPICS
from switchboard.inbox_projection.rebuild import checksums, partitions, prune, rebuild
from switchboard.ingest.adapters.queries import contact_owners
from switchboard.ingest.adapters.twilio import signature
from switchboard.ingest.app import MIGRATIONS as INGEST_MIGRATIONS
from switchboard.ingest.app import build_app as ingest_app
from switchboard.ingest.settings import IngestSettings
from switchboard.platform.db import make_engine
from switchboard.platform.internal_api import dev_credentials, settings_update
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer, record_headers
from switchboard.platform.migrations import upgrade

pytestmark = pytest.mark.integration

LINE, BILLING_LINE = "+12125550000", "+12125550001"
SECRET = "inbox-it-secret-0123456789abcdef0123456789"
USERS = [
    user("u-admin", "practice_admin", ("inbox.full_patient",)),
    user("u-ct", "staff", ("inbox.care_team",)),
    user("u-staff", "staff"),
    user("u-sub", "staff"),
    user("u-api", "api_client", ("inbox.api",)),
    user("u-noinbox", "no_inbox"),
    user("u-op", "platform_operator"),
    # their role and policies change in the as-of test (X-ASOF-1b, X-ASOF-1c)
    user("u-promoted", "staff"),
    user("u-late", "staff"),
    user("u-other", "practice_admin", ("inbox.full_patient",), practice=OTHER),
]
ROLE = {u["user_id"]: u for u in USERS}


def token(user_id: str) -> dict[str, str]:
    u = ROLE[user_id]
    p = Principal(u["user_id"], u["practice_id"], u["role"], frozenset(u["policies"]))
    return {"Authorization": f"Bearer {issue_token(p, SECRET, 3600)}"}


class World:
    def __init__(self, settings, publisher, gateway, ingest, projection, group_prefix, ingest_app):
        self.ingest_app = ingest_app
        self.settings = settings
        self.publisher = publisher
        self.gateway: httpx.AsyncClient = gateway
        self.ingest: httpx.AsyncClient = ingest
        self.projection = projection
        self.group_prefix = group_prefix

    async def sms(self, sender: str, body: str, line: str = LINE) -> uuid.UUID:
        """Post a signed SMS webhook to ingest; the conversation it landed in, once the
        gateway lists it (ingest threads a known number, I-THREAD-1 keeps others apart)."""
        sid = f"SM{uuid.uuid4().hex}"
        url = f"http://ingest/webhooks/twilio/sms/{PRACTICE}"
        params = {"MessageSid": sid, "From": sender, "To": line, "Body": body}
        r = await self.ingest.post(
            url, data=params, headers={"X-Twilio-Signature": signature("tw-token", url, params)}
        )
        assert r.status_code == 200, r.text
        candidates = {
            str(deterministic_id(PRACTICE, "sms", line, sender)),
            str(deterministic_id(PRACTICE, "sms", line, sender, sid)),
        }

        async def landed() -> uuid.UUID | None:
            found = await self.get("/api/search", "u-admin", phone=sender, limit=200)
            ids = {c["conversation_id"] for c in found.json()["items"]} & candidates
            return uuid.UUID(ids.pop()) if ids else None

        return await eventually(landed)

    async def ingest_knows(self, sender: str) -> None:
        """Wait until ingest has the number as one patient's (it then threads it)."""
        sessionmaker = self.ingest_app.state.runtime.sessionmaker

        async def one_owner() -> bool:
            async with sessionmaker() as session:
                return len(await contact_owners(session, PRACTICE, sender)) == 1

        await eventually(one_owner)

    async def get(self, path: str, who: str, **params: Any) -> httpx.Response:
        return await self.gateway.get(path, headers=token(who), params=params)

    async def post(self, path: str, who: str, body: dict[str, Any]) -> httpx.Response:
        return await self.gateway.post(path, headers=token(who), json=body)

    async def listing(self, view: str, who: str, **params: Any) -> list[dict[str, Any]]:
        r = await self.get(f"/api/inboxes/{view}", who, **params)
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    async def listed(self, view: str, who: str, cid: uuid.UUID, **params: Any) -> Any:
        async def found() -> Any:
            items = await self.listing(view, who, **params)
            return next((c for c in items if c["conversation_id"] == str(cid)), None)

        return await eventually(found)

    async def conversation(self, cid: uuid.UUID, who: str = "u-admin") -> dict[str, Any]:
        r = await self.get(f"/api/conversations/{cid}", who)
        assert r.status_code == 200, r.text
        return dict(r.json())


@pytest.fixture(scope="module")
async def world(settings, own_db, tmp_path_factory):
    test_db = own_db
    cfg = settings.model_copy(
        update={"topic_prefix": f"inbox{uuid.uuid4().hex[:6]}.", "database_url": test_db}
    )
    await ensure_topics(cfg)
    upgrade(INBOX_MIGRATIONS, test_db)
    upgrade(GATEWAY_MIGRATIONS, test_db)
    upgrade(INGEST_MIGRATIONS, test_db)
    upsert_users(test_db, USERS)
    producer = make_producer(cfg)
    await producer.start()
    credentials = dev_credentials()
    router = ServiceProcess("router", cfg, "inbox-it-", **credentials["router"])
    projection = ServiceProcess("inbox-projection", cfg, "inbox-it-")
    pm_sync = ServiceProcess(
        "pm-sync",
        cfg,
        "inbox-it-",
        **credentials["pm-sync"],
        SWITCHBOARD_MLLP_ENABLED="false",
        SWITCHBOARD_FHIR_PRACTICES="[]",
    )
    router.start()
    projection.start()
    pm_sync.start()
    gateway_settings = GatewaySettings(
        service_name="gateway",
        kafka_bootstrap=cfg.kafka_bootstrap,
        database_url=test_db,
        topic_prefix=cfg.topic_prefix,
        jwt_secret=SECRET,
        pm_sync_url=pm_sync.internal_url,
        router_url=router.internal_url,
        action_wait_s=20,
        **settings_update(credentials["gateway"]),
    )
    gw = gateway_app(gateway_settings)
    ing = ingest_app(
        IngestSettings(
            service_name="ingest",
            kafka_bootstrap=cfg.kafka_bootstrap,
            database_url=test_db,
            topic_prefix=cfg.topic_prefix,
            consumer_group_prefix="inbox-it-",
            attachment_dir=str(tmp_path_factory.mktemp("attachments")),
            twilio_auth_token="tw-token",
            practices=[PRACTICE],
            smtp_listen_port=None,
        )
    )
    async with in_process(gw, "http://gateway") as g, in_process(ing, "http://ingest") as i:
        w = World(cfg, Publisher(producer, cfg), g, i, projection, "inbox-it-", ing)
        w.gateway_app, w.gateway_settings = gw, gateway_settings
        # u-sub reads the Unassigned shared inbox (R-SUB-2), from before any message.
        await w.publisher.publish(
            [
                StaffSubscriptionsSet(
                    event_id=uuid.uuid4(),
                    correlation_id=uuid.uuid4(),
                    occurred_at=datetime.now(UTC) - timedelta(seconds=5),
                    practice_id=PRACTICE,
                    actor="u-admin",
                    staff_id="u-sub",
                    inboxes=("unassigned",),
                )
            ]
        )
        await eventually(lambda: _subscribed(w, "u-sub"))
        yield w
    projection.stop()
    router.stop()
    pm_sync.stop()
    await producer.stop()


async def refill_request(w: World) -> tuple[uuid.UUID, str, str]:
    """A new patient, Ada Lovelace on u-ct's care team, texts for a refill: the conversation,
    her number and her patient id, once every service knows her."""
    sender, patient_id = phone(), f"pat-{uuid.uuid4().hex[:8]}"
    await w.publisher.publish(
        [
            patient(
                patient_id,
                "Ada",
                "Lovelace",
                phones=(sender,),
                care_team=("u-ct",),
                primary="u-ct",
            )
        ]
    )

    async def known() -> bool:
        r = await w.get("/api/patients", "u-admin", q=sender)
        return r.status_code == 200 and patient_id in {p["patient_id"] for p in r.json()}

    await eventually(known)
    await w.ingest_knows(sender)
    cid = await w.sms(sender, "Need a refill of my inhaler")
    # routed (not only stored): in Unassigned and on her care team's view
    await w.listed("shared/unassigned", "u-admin", cid)
    await w.listed("care-team/directed", "u-ct", cid)
    return cid, sender, patient_id


async def test_sms_webhook_to_every_view(world):
    # covers I-VIEW-1, I-VIEW-2, I-VIEW-3, I-VIEW-4, R-SUB-2, R-LABEL-1, T-3
    w = world
    cid, _, patient_id = await refill_request(w)
    item = await w.listed("shared/unassigned", "u-admin", cid)
    assert item["patient"] == {"patient_id": patient_id, "name": "Ada Lovelace"}
    assert item["status"] == "open" and item["unread"] is True
    assert item["reason"] == "other"  # labels show in Unassigned (R-LABEL-1)
    assert (await w.listed("care-team/directed", "u-ct", cid))["conversation_id"] == str(cid)
    assert await w.listed("my/primary-contact", "u-ct", cid)
    assert await w.listed("all/directed", "u-admin", cid)
    assert await w.listed("shared/unassigned", "u-sub", cid)
    assert await w.listed("/api/inboxes/unassigned".removeprefix("/api/inboxes/"), "u-admin", cid)

    detail = await w.conversation(cid)
    assert [m["body"] for m in detail["messages"]] == ["Need a refill of my inhaler"]
    assert detail["decisions"][0]["reason"] == "other"  # the history shows the reason
    assert "R-SUB-2" in {step["rule"] for step in detail["explanation"]}
    assert detail["answerable"] is True
    async with make_engine(w.settings.database_url).connect() as conn:
        logged = await conn.scalar(
            text(
                "SELECT count(*) FROM gateway.access_log WHERE conversation_id = :c "
                "AND user_id = 'u-admin' AND action = 'read'"
            ),
            {"c": cid},
        )
    assert logged >= 1  # T-3
    # Reading it clears the unread mark for this user only.
    await eventually(
        lambda: _flag(w, "shared/unassigned", "u-admin", cid, "unread", False), timeout_s=20
    )
    assert (await w.listed("shared/unassigned", "u-sub", cid))["unread"] is True

    views = (await w.get("/api/inboxes", "u-ct")).json()
    paths = {v["path"]: v["counts"] for v in views}
    assert "care-team/directed" in paths and "all/directed" not in paths
    assert paths["care-team/directed"]["total"] >= 1


async def _subscribed(w: World, who: str) -> bool:
    r = await w.get("/api/inboxes/shared/unassigned", who)
    return r.status_code == 200


async def _flag(w: World, view: str, who: str, cid: uuid.UUID, key: str, value: Any) -> bool:
    item = await w.listed(view, who, cid)
    return bool(item[key] == value)


MATRIX = {
    # endpoint: expected status per user
    "/api/inboxes/my/assigned": {
        "u-admin": 200, "u-ct": 200, "u-staff": 200, "u-sub": 200, "u-api": 200,
        "u-noinbox": 403, "u-op": 403, "u-other": 200,
    },
    "/api/inboxes/care-team/directed": {
        "u-admin": 200, "u-ct": 200, "u-staff": 403, "u-sub": 403, "u-api": 200,
        "u-noinbox": 403, "u-op": 403, "u-other": 200,
    },
    "/api/inboxes/all/unrecognized": {
        "u-admin": 200, "u-ct": 403, "u-staff": 403, "u-sub": 403, "u-api": 200,
        "u-noinbox": 403, "u-op": 403, "u-other": 200,
    },
    "/api/inboxes/shared/unassigned": {
        "u-admin": 200, "u-ct": 403, "u-staff": 403, "u-sub": 200, "u-api": 200,
        "u-noinbox": 403, "u-op": 403, "u-other": 200,
    },
    "/api/conversations/{cid}": {
        "u-admin": 200, "u-ct": 200, "u-staff": 403, "u-sub": 200, "u-api": 200,
        "u-noinbox": 403, "u-op": 403, "u-other": 404,
    },
    "/api/conversations/{cid}/assignees": {
        "u-admin": 200, "u-ct": 200, "u-staff": 403, "u-sub": 200, "u-api": 200,
        "u-noinbox": 403, "u-op": 403, "u-other": 404,
    },
    # The routing explanation names the patient, reason, location and recipients: the same
    # access check as the conversation (issue 13: it used to answer 200 to u-staff).
    "/api/conversations/{cid}/routing": {
        "u-admin": 200, "u-ct": 200, "u-staff": 403, "u-sub": 200, "u-api": 200,
        "u-noinbox": 403, "u-op": 403, "u-other": 404,
    },
    "/api/conversations/{cid}/why": {
        "u-admin": 200, "u-ct": 200, "u-staff": 403, "u-sub": 200, "u-api": 200,
        "u-noinbox": 403, "u-op": 403, "u-other": 404,
    },
    "/api/conversations/{cid}/panel": {
        "u-admin": 200, "u-ct": 200, "u-staff": 403, "u-sub": 200, "u-api": 200,
        "u-noinbox": 403, "u-op": 403, "u-other": 404,
    },
    "/api/search?q=Lovelace": {
        "u-admin": 200, "u-ct": 200, "u-staff": 200, "u-sub": 200, "u-api": 200,
        "u-noinbox": 403, "u-op": 403, "u-other": 200,
    },
}  # fmt: skip


async def test_permission_matrix_roles_policies_endpoints(world):
    # covers T-1, T-2, I-PANEL-1
    w = world
    cid, _, _ = await refill_request(w)

    async def pm_sync_has_the_patient() -> bool:
        return (await w.get(f"/api/conversations/{cid}/panel", "u-admin")).status_code == 200

    await eventually(pm_sync_has_the_patient)
    failures = []
    for endpoint, expected in MATRIX.items():
        for who, status in expected.items():
            r = await w.gateway.get(endpoint.format(cid=cid), headers=token(who))
            if r.status_code != status:
                failures.append(f"{who} {endpoint}: {r.status_code} != {status} ({r.text[:80]})")
    assert failures == []
    # Another practice learns nothing: the same 404 as an id that does not exist.
    theirs = await w.get(f"/api/conversations/{cid}", "u-other")
    missing = await w.get(f"/api/conversations/{uuid.uuid4()}", "u-other")
    assert theirs.status_code == missing.status_code == 404 and theirs.json() == missing.json()
    for view in ("all/directed", "shared/unassigned"):
        assert all(c["conversation_id"] != str(cid) for c in await w.listing(view, "u-other"))
    found = (await w.get("/api/search", "u-other", q="Lovelace")).json()["items"]
    assert found == []
    close = {"status": "closed"}
    assert (await w.post(f"/api/conversations/{cid}/status", "u-other", close)).status_code == 404
    assert (await w.post(f"/api/conversations/{cid}/status", "u-staff", close)).status_code == 403
    assert (await w.gateway.get("/api/inboxes")).status_code == 401


async def test_patient_panel_beside_the_conversation(world):
    # covers I-PANEL-1, T-3
    w = world
    cid, _, _ = await refill_request(w)

    async def pm_sync_has_the_patient() -> httpx.Response | None:
        r = await w.get(f"/api/conversations/{cid}/panel", "u-ct")
        return r if r.status_code == 200 else None

    r = await eventually(pm_sync_has_the_patient)
    panel = r.json()
    assert "Ada" in json.dumps(panel) and "Lovelace" in json.dumps(panel)
    assert "u-ct" in json.dumps(panel)  # care team and primary contact
    assert "encounters" in json.dumps(panel)


async def replies_settled(w: World, cid: uuid.UUID) -> None:
    """Wait until every reply of `cid` has a result (here a failure: this ingest has no SMS
    provider), so a status set by hand afterwards is not undone by its reopen (I-DELIV-2)."""

    async def settled() -> bool:
        messages = (await w.conversation(cid, "u-ct"))["messages"]
        out = [m for m in messages if m["direction"] == "outbound"]
        return all(m["delivery_state"]["state"] != "queued" for m in out)

    await eventually(settled)


async def test_assign_status_reply_and_versions(world):
    # covers I-ASSIGN-1, I-STATUS-1, I-VIEW-1
    w = world
    cid, sender, _ = await refill_request(w)
    version = (await w.conversation(cid))["version"]
    # only to users with access to the patient
    r = await w.post(f"/api/conversations/{cid}/assign", "u-admin", {"assignee": "u-staff"})
    assert r.status_code == 422 and "access" in r.json()["detail"]
    r = await w.post(f"/api/conversations/{cid}/assign", "u-admin", {"assignee": "u-nobody"})
    assert r.status_code == 422
    r = await w.post(
        f"/api/conversations/{cid}/assign",
        "u-admin",
        {"assignee": "u-ct", "expected_version": version},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["applied"] is True and body["conversation"]["assignee"] == "u-ct"
    assert body["conversation"]["version"] == version + 1  # read your writes
    assert await w.listed("my/assigned", "u-ct", cid)
    # the same stale version again: 409, nothing applied twice
    r = await w.post(
        f"/api/conversations/{cid}/assign",
        "u-admin",
        {"assignee": None, "expected_version": version},
    )
    assert r.status_code == 409
    assert (await w.conversation(cid))["assignee"] == "u-ct"
    # unassigned-only filter hides it now
    items = await w.listing("shared/unassigned", "u-admin", unassigned_only="true")
    assert all(c["conversation_id"] != str(cid) for c in items)

    # "Send and Close" is the default; the reply shows in Sent. It closes only once sent
    # (I-DELIV-1), which never happens here: this ingest has no SMS provider.
    r = await w.post(f"/api/conversations/{cid}/reply", "u-ct", {"body": "Sent to your pharmacy"})
    assert r.status_code == 200, r.text
    assert r.json()["conversation"]["status"] == "open"
    assert await w.listed("my/sent", "u-ct", cid)
    detail = await w.conversation(cid, "u-ct")
    assert [m["direction"] for m in detail["messages"]] == ["inbound", "outbound"]
    assert detail["messages"][1]["actor"] == "u-ct"
    # any inbound message opens it again
    await replies_settled(w, cid)  # (its failure reopens it: I-DELIV-2)
    r = await w.post(f"/api/conversations/{cid}/status", "u-ct", {"status": "closed"})
    assert r.status_code == 200 and r.json()["conversation"]["status"] == "closed"
    await w.sms(sender, "Thanks! One more question")

    async def reopened() -> bool:
        return (await w.conversation(cid, "u-ct"))["status"] == "open"

    await eventually(reopened)
    # "Send and keep Open"
    r = await w.post(
        f"/api/conversations/{cid}/reply", "u-ct", {"body": "Go ahead", "keep_open": True}
    )
    assert r.status_code == 200 and r.json()["conversation"]["status"] == "open"
    # by hand, any time
    await replies_settled(w, cid)
    r = await w.post(f"/api/conversations/{cid}/status", "u-ct", {"status": "closed"})
    assert r.status_code == 200 and r.json()["conversation"]["status"] == "closed"
    assert await w.listed("care-team/directed", "u-ct", cid, status="closed")
    # unassign
    r = await w.post(f"/api/conversations/{cid}/assign", "u-admin", {"assignee": None})
    assert r.status_code == 200 and r.json()["conversation"]["assignee"] is None
    # bad input: 4xx with a reason
    r = await w.post(f"/api/conversations/{cid}/status", "u-ct", {"status": "snoozed"})
    assert r.status_code == 422
    r = await w.post(f"/api/conversations/{cid}/reply", "u-ct", {"body": "  "})
    assert r.status_code == 422 and "body" in r.json()["detail"]
    r = await w.post(f"/api/conversations/{cid}/reply", "u-ct", {"body": "x", "secure": True})
    assert r.status_code == 422 and "email" in r.json()["detail"]
    r = await w.get("/api/inboxes/shared/unassigned", "u-admin", cursor="not-a-cursor")
    assert r.status_code == 422


async def test_a_reply_repeated_under_one_idempotency_key_is_sent_once(world):
    # covers I-DELIV-6
    # A second click, or a program retrying after a lost answer, used to send a second
    # reply (or get 409: the first one had moved the conversation's version).
    w = world
    cid, _, _ = await refill_request(w)
    version = (await w.conversation(cid))["version"]
    url = f"/api/conversations/{cid}/reply"
    body = {"body": "Your refill is ready", "keep_open": True, "expected_version": version}
    headers = {**token("u-ct"), "Idempotency-Key": f"key-{uuid.uuid4().hex}"}
    first = await w.gateway.post(url, json=body, headers=headers)
    assert first.status_code == 200, first.text
    again = await w.gateway.post(url, json=body, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["event_id"] == first.json()["event_id"]
    # another key is another reply
    other = {**headers, "Idempotency-Key": f"key-{uuid.uuid4().hex}"}
    third = await w.gateway.post(
        url, json={"body": "And a leaflet", "keep_open": True}, headers=other
    )
    assert third.status_code == 200, third.text

    async def replies() -> list[str] | None:
        messages = (await w.conversation(cid))["messages"]
        out = [m["body"] for m in messages if m["direction"] == "outbound"]
        return out if len(out) >= 2 else None

    assert sorted(await eventually(replies)) == ["And a leaflet", "Your refill is ready"]
    r = await w.gateway.post(url, json=body, headers={**headers, "Idempotency-Key": "a b"})
    assert r.status_code == 422  # a key is visible ASCII


async def test_unrecognized_is_answerable_only_once_linked(world):
    # covers I-UNREC-1, I-VIEW-1, I-VIEW-2, I-VIEW-3, X-UNREPLY-1
    w = world
    family = phone()
    await w.publisher.publish(
        [
            patient("pat-2", "Bea", "Family", phones=(family,), care_team=("u-admin",)),
            patient("pat-3", "Cal", "Family", phones=(family,), care_team=("u-ct",)),
        ]
    )

    async def both_known() -> bool:
        r = await w.get("/api/patients", "u-admin", q=family)
        return r.status_code == 200 and len(r.json()) == 2

    await eventually(both_known)
    cid = await w.sms(family, "Is the lab open Saturday?")
    item = await w.listed("all/unrecognized", "u-admin", cid)
    assert item["unrecognized"] is True and sorted(item["matched_patient_ids"]) == [
        "pat-2",
        "pat-3",
    ]
    # Care Team / Unrecognized: some of the matching patients are on my care team
    assert await w.listed("care-team/unrecognized", "u-ct", cid)
    # the practice does not allow replies to unrecognized senders (X-UNREPLY-1): 403, why
    r = await w.post(f"/api/conversations/{cid}/reply", "u-ct", {"body": "Yes"})
    assert r.status_code == 403 and "link" in r.json()["detail"]
    candidates = (await w.get(f"/api/conversations/{cid}/link-candidates", "u-ct")).json()
    assert sorted(p["patient_id"] for p in candidates["matching"]) == ["pat-2", "pat-3"]
    r = await w.post(f"/api/conversations/{cid}/link", "u-ct", {"patient_id": "pat-404"})
    assert r.status_code == 422
    r = await w.post(f"/api/conversations/{cid}/link", "u-ct", {"patient_id": "pat-3"})
    assert r.status_code == 200, r.text
    assert r.json()["conversation"]["unrecognized"] is False
    r = await w.post(f"/api/conversations/{cid}/reply", "u-ct", {"body": "Yes, 9 to 1"})
    assert r.status_code == 200, r.text
    assert await w.listed("care-team/directed", "u-ct", cid)
    # assigned to someone whose care team does not have the patient: their Unrecognized
    r = await w.post(f"/api/conversations/{cid}/assign", "u-admin", {"assignee": "u-admin"})
    assert r.status_code == 200
    assert await w.listed("my/unrecognized", "u-admin", cid)


async def test_written_to_a_staff_members_own_number_assigns_it(world):
    # covers I-ASSIGN-1
    w = world
    r = await w.gateway.put(
        "/api/admin/staff/u-sub/addresses",
        headers=token("u-admin"),
        json={"addresses": ["(212) 555-0001"]},
    )
    assert r.status_code == 200, r.text
    r = await w.gateway.put(
        "/api/admin/staff/u-sub/addresses", headers=token("u-ct"), json={"addresses": []}
    )
    assert r.status_code == 403
    r = await w.gateway.put(
        "/api/admin/staff/u-sub/addresses", headers=token("u-admin"), json={"addresses": ["x"]}
    )
    assert r.status_code == 422
    cid = await w.sms(phone(), "Question about my bill", line=BILLING_LINE)
    item = await w.listed("my/assigned", "u-sub", cid)
    assert item["assignee"] == "u-sub"


async def test_search_by_phone_name_text_with_filters(world):
    # covers I-SEARCH-1
    w = world
    cid, sender, _ = await refill_request(w)
    # answered, then closed, never assigned
    r = await w.post(f"/api/conversations/{cid}/reply", "u-ct", {"body": "Sent to your pharmacy"})
    assert r.status_code == 200, r.text
    await replies_settled(w, cid)
    r = await w.post(f"/api/conversations/{cid}/status", "u-ct", {"status": "closed"})
    assert r.status_code == 200 and r.json()["conversation"]["status"] == "closed", r.text

    async def ids(who: str = "u-admin", **params: Any) -> set[str]:
        r = await w.get("/api/search", who, **params)
        assert r.status_code == 200, r.text
        return {c["conversation_id"] for c in r.json()["items"]}

    assert str(cid) in await ids(phone=sender)
    assert str(cid) in await ids(phone=LINE)  # to
    assert str(cid) in await ids(name="lovel")
    assert str(cid) in await ids(text="inhaler")
    assert str(cid) in await ids(q="inhaler")
    assert str(cid) in await ids(text="pharmacy")  # a reply's text
    assert str(cid) in await ids(text="inhaler", status="closed", channel="sms")
    assert str(cid) not in await ids(text="inhaler", status="open")
    assert str(cid) not in await ids(text="inhaler", channel="email")
    assert str(cid) in await ids(text="inhaler", reason="other", unassigned_only="true")
    assert str(cid) not in await ids(text="inhaler", location="loc-nowhere")
    assert str(cid) not in await ids("u-staff", text="inhaler")  # not in any of my views
    assert (await w.get("/api/search", "u-admin")).status_code == 422
    assert (await w.get("/api/search", "u-admin", phone="12")).status_code == 422


async def test_a_reply_with_no_sms_provider_stays_open_says_why_and_retries_once(world):
    # covers I-DELIV-1, I-DELIV-2, I-DELIV-3, I-DELIV-4, I-DELIV-5
    w = world
    cid, _, _ = await refill_request(w)
    r = await w.post(f"/api/conversations/{cid}/reply", "u-ct", {"body": "Ready at 3pm"})
    assert r.status_code == 200 and r.json()["conversation"]["status"] == "open", r.text

    async def failed() -> dict[str, Any] | None:
        out = [
            m
            for m in (await w.conversation(cid, "u-ct"))["messages"]
            if m["direction"] == "outbound"
        ]
        state = out[-1]["delivery_state"]
        return out[-1] if state["state"] == "failed" else None

    reply = await eventually(failed)
    state = reply["delivery_state"]
    assert state["words"] == "No SMS provider is configured for this practice."
    assert state["why"] == "sms_not_configured" and state["label"] == "Failed"
    detail = await w.conversation(cid, "u-ct")
    assert detail["status"] == "open"  # the patient got nothing: still in the open queue
    # no retry of a reply that did not fail, nor of an inbound message
    inbound = detail["messages"][0]["message_id"]
    r = await w.post(f"/api/conversations/{cid}/messages/{inbound}/retry", "u-ct", {})
    assert r.status_code == 404
    # Retry, clicked twice: one new reply naming the failed one, the same body
    path = f"/api/conversations/{cid}/messages/{reply['message_id']}/retry"
    first, second = await w.post(path, "u-ct", {}), await w.post(path, "u-ct", {})
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert first.json()["event_id"] == second.json()["event_id"]

    async def retried() -> list[dict[str, Any]] | None:
        out = [
            m
            for m in (await w.conversation(cid, "u-ct"))["messages"]
            if m["direction"] == "outbound"
        ]
        return out if len(out) == 2 and out[1]["delivery_state"]["failed"] else None

    original, again = await eventually(retried)
    assert again["body"] == "Ready at 3pm" and again["details"]["retry_of"] == reply["message_id"]
    assert original["retried_by"] == again["message_id"] and again["retried_by"] is None
    assert (await w.conversation(cid, "u-ct"))["status"] == "open"


async def test_paging_with_a_keyset_cursor(world):
    # covers I-VIEW-4
    w = world
    mine = {str(await w.sms(phone(), f"page test {i}")) for i in range(5)}

    async def all_five() -> list[dict[str, Any]] | None:
        items = await w.listing("shared/unassigned", "u-admin", limit=200)
        return items if mine <= {c["conversation_id"] for c in items} else None

    await eventually(all_five)
    # nothing of an earlier test still on its way into the view while it is paged
    await eventually(lambda: _idle(w), timeout_s=60)
    everything = await w.listing("shared/unassigned", "u-admin", limit=200)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = await w.get("/api/inboxes/shared/unassigned", "u-admin", **params)
        page = r.json()
        seen += [c["conversation_id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [c["conversation_id"] for c in everything]
    oldest = await w.listing("shared/unassigned", "u-admin", sort="oldest", limit=200)
    assert [c["conversation_id"] for c in oldest] == seen[::-1]


async def test_an_inbox_as_it_stood_and_who_could_see_it(world):
    # covers X-ASOF-1
    w = world
    cid, _, _ = await refill_request(w)
    r = await w.post(f"/api/conversations/{cid}/assign", "u-admin", {"assignee": "u-ct"})
    assert r.status_code == 200 and r.json()["applied"] is True, r.text
    then = datetime.now(UTC)
    r = await w.post(f"/api/conversations/{cid}/assign", "u-admin", {"assignee": None})
    assert r.status_code == 200 and r.json()["conversation"]["assignee"] is None, r.text
    r = await w.get("/api/inboxes/my/assigned/as-of", "u-ct", at=then.isoformat())
    assert r.status_code == 200, r.text
    assert str(cid) in {i["conversation_id"] for i in r.json()["items"]}
    # by who wrote it, as the screen lists it
    assert {i["patient_name"] for i in r.json()["items"] if i["conversation_id"] == str(cid)} == {
        "Ada Lovelace"
    }
    assert "u-ct" in r.json()["visible_to"]
    now = await w.get("/api/inboxes/my/assigned/as-of", "u-ct", at=datetime.now(UTC).isoformat())
    assert str(cid) not in {i["conversation_id"] for i in now.json()["items"]}
    shared = await w.get(
        "/api/inboxes/shared/unassigned/as-of", "u-admin", at=datetime.now(UTC).isoformat()
    )
    body = shared.json()
    assert str(cid) in {i["conversation_id"] for i in body["items"]}
    assert {"u-sub", "u-admin", "u-api"} <= set(body["visible_to"])
    assert "u-staff" not in body["visible_to"]
    long_ago = datetime(2020, 1, 1, tzinfo=UTC).isoformat()
    old = await w.get("/api/inboxes/shared/unassigned/as-of", "u-admin", at=long_ago)
    assert old.json()["items"] == [] and "u-sub" not in old.json()["visible_to"]
    naive = await w.get("/api/inboxes/my/assigned/as-of", "u-ct", at="2026-01-01T10:00:00")
    assert naive.status_code == 422


async def _access_is(w: World, who: str, role: str, *policies: str) -> bool:
    """Whether `who`'s current access in the inbox read model is this (X-ASOF-1a)."""
    async with w.gateway_app.state.runtime.sessionmaker() as session:
        found = [r for r in await staff_access.history(session, PRACTICE) if r.staff_id == who]
    now = [(r.role, r.policies) for r in found if r.valid_to is None]
    return now == [(role, frozenset(policies))]


def _bearer(user_id: str, role: str, *policies: str) -> dict[str, str]:
    p = Principal(user_id, PRACTICE, role, frozenset(policies))
    return {"Authorization": f"Bearer {issue_token(p, SECRET, 3600)}"}


async def test_who_could_see_it_then_uses_the_roles_of_that_moment(world):
    # covers X-ASOF-1, X-ASOF-1a, X-ASOF-1b, X-ASOF-1c
    w = world
    cid, _, _ = await refill_request(w)
    # the gateway published everyone's configured access when it started
    await eventually(lambda: _access_is(w, "u-promoted", "staff"))
    await eventually(lambda: _access_is(w, "u-late", "staff"))
    then = datetime.now(UTC)
    await asyncio.sleep(0.05)
    # the configuration changes; the next gateway start publishes the difference
    upsert_users(
        w.gateway_settings.database_url,
        [
            user("u-promoted", "staff", ("inbox.full_patient",)),
            user("u-late", "staff", ("inbox.care_team",)),
        ],
    )
    async with in_process(gateway_app(w.gateway_settings), "http://gateway-2"):
        await eventually(lambda: _access_is(w, "u-promoted", "staff", "inbox.full_patient"))
        await eventually(lambda: _access_is(w, "u-late", "staff", "inbox.care_team"))
    now = datetime.now(UTC)
    old = await w.get("/api/inboxes/all/directed/as-of", "u-admin", at=then.isoformat())
    new = await w.get("/api/inboxes/all/directed/as-of", "u-admin", at=now.isoformat())
    assert old.status_code == new.status_code == 200, old.text
    assert str(cid) in {i["conversation_id"] for i in old.json()["items"]}
    # today u-promoted could see the All Patients inbox; at `then` they could not
    assert "u-promoted" in new.json()["visible_to"]
    assert "u-promoted" not in old.json()["visible_to"]
    assert "u-admin" in old.json()["visible_to"]
    assert old.json()["access_recorded_from"] is not None
    # u-late reads their Care Team view today, but not as it stood before they had it
    late = _bearer("u-late", "staff", "inbox.care_team")
    path = "/api/inboxes/care-team/directed/as-of"
    before = await w.gateway.get(path, headers=late, params={"at": then.isoformat()})
    assert before.status_code == 403 and "at that time" in before.text
    after = await w.gateway.get(path, headers=late, params={"at": now.isoformat()})
    assert after.status_code == 200 and "u-late" in after.json()["visible_to"]


async def test_a_saved_proposal_is_replayed_and_applied_in_one_step(world):
    # covers X-WHATIF-1, X-WHATIF-1c
    w = world
    proposal = {
        "name": "Billing questions to u-late",
        "subscriptions": [{"staff_id": "u-late", "reasons": ["billing"]}],
    }
    saved = await w.post("/api/admin/routing/proposals", "u-admin", proposal)
    assert saved.status_code == 201, saved.text
    pid = saved.json()["proposal_id"]
    listed = await w.get("/api/admin/routing/proposals", "u-admin")
    assert pid in [p["proposal_id"] for p in listed.json()]
    staff = await w.post("/api/admin/routing/proposals", "u-staff", proposal)
    assert staff.status_code == 403
    nobody = {"name": "x", "subscriptions": [{"staff_id": "u-nobody", "reasons": ["billing"]}]}
    assert (await w.post("/api/admin/routing/proposals", "u-admin", nobody)).status_code == 422
    replay = await w.gateway.post(
        f"/api/admin/routing/proposals/{pid}/what-if", headers=token("u-admin"), params={"days": 1}
    )
    assert replay.status_code == 200 and "combos" in replay.json(), replay.text
    applied = await w.post(f"/api/admin/routing/proposals/{pid}/apply", "u-admin", {})
    assert applied.status_code in (200, 202), applied.text  # 202: the router is slow today
    again = await w.post(f"/api/admin/routing/proposals/{pid}/apply", "u-admin", {})
    assert again.status_code == 409

    async def recorded() -> Any:
        history = (await w.get("/api/admin/routing/history", "u-admin")).json()
        ids = [c["event_id"] for c in history["changes"]]
        return history if applied.json()["event_id"] in ids else None

    history = await eventually(recorded, timeout_s=60)
    mine = [c for c in history["changes"] if c["event_id"] == applied.json()["event_id"]]
    assert len(mine) == 1 and mine[0]["event_type"] == "RoutingProposalApplied"
    assert {"staff_id": "u-late"}.items() <= {
        **next(s for s in history["config"]["subscriptions"] if s["staff_id"] == "u-late")
    }.items()


async def _lag(w: World) -> int:
    """Records on the projection's topics its live group has not committed yet."""
    tps = await partitions(w.settings, [w.settings.topic(t) for t in TOPICS])
    assert len(tps) == 6 * len(TOPICS)
    admin = AIOKafkaAdminClient(bootstrap_servers=w.settings.kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=w.settings.kafka_bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(f"{w.group_prefix}inbox-projection")
        end = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
        await admin.close()
    return sum(end[tp] - (committed[tp].offset if tp in committed else 0) for tp in tps)


def _copy_of(message: dict[str, Any], cid: uuid.UUID, sender: str, at: datetime) -> MessageReceived:
    eid = uuid.uuid4()
    return MessageReceived(
        event_id=eid,
        correlation_id=eid,
        occurred_at=at,
        practice_id=PRACTICE,
        message_id=uuid.UUID(message["message_id"]),
        conversation_id=cid,
        channel="sms",
        sender=sender,
        recipient=LINE,
        provider="twilio",
        provider_message_id=f"SM{uuid.uuid4().hex}",
        received_at=at,
        body=message["body"],
    )


async def _send_stamped(w, event: NoteAdded, at: datetime) -> None:
    """One record whose Kafka timestamp (its producer's clock) is `at`, as Publisher sends it
    otherwise: how a send held in a producer while the broker was away lands after a later
    one, with an earlier timestamp."""
    producer = make_producer(w.settings)
    await producer.start()
    try:
        await producer.send_and_wait(
            w.settings.topic(topic_for(event)),
            value=encode(event),
            key=event.partition_key().encode(),
            headers=record_headers(event),
            timestamp_ms=int(at.timestamp() * 1000),
        )
    finally:
        await producer.stop()


async def test_rebuild_from_offset_zero_equals_live(world):
    # covers X-REPLAY-1, I-AUDIT-1, I-NOTE-1, I-SNOOZE-1, I-BULK-1
    w = world
    cid, _, _ = await refill_request(w)
    stranger = phone()
    first = await w.sms(stranger, "from a number nobody has")
    # A retried webhook whose first attempt reached the log late: a second copy of the
    # message (same id, its own event id) with an earlier time comes after the first. Live
    # and rebuilt, the row keeps the earlier time, whatever order a consumer meets them in.
    [original] = (await w.conversation(first))["messages"]
    earlier = datetime.fromisoformat(original["sent_at"]) - timedelta(seconds=23)
    await w.publisher.publish([_copy_of(original, first, stranger, earlier)])

    async def time_moved_back() -> bool:
        [m] = (await w.conversation(first))["messages"]
        return datetime.fromisoformat(m["sent_at"]) == earlier

    await eventually(time_moved_back)
    # One event twice in one partition (a repeated request under one Idempotency-Key, both
    # sends landing): the later copy in the log has the earlier timestamp. Live applies the
    # event id once, the first in the log; so must the rebuild, not the first by timestamp.
    note = deterministic_id(PRACTICE, "note-twice", str(cid))
    now = datetime.now(UTC)
    twice = [
        NoteAdded(
            event_id=note,
            correlation_id=note,
            occurred_at=at,
            practice_id=PRACTICE,
            conversation_id=cid,
            actor="u-ct",
            note_id=note,
            body="sent twice",
        )
        for at in (now, now - timedelta(seconds=30))
    ]
    await w.publisher.publish([twice[0]])
    await _send_stamped(w, twice[1], twice[1].occurred_at)

    async def noted_once() -> bool:
        notes = [m for m in (await w.conversation(cid))["messages"] if m["message_id"] == str(note)]
        return len(notes) == 1 and datetime.fromisoformat(notes[0]["sent_at"]) == now

    await eventually(noted_once)
    # team work is in the rebuild too: a note and its mention, a snooze still running, one
    # woken by its timer, and a bulk action's events
    other, _, _ = await refill_request(w)
    r = await w.post(f"/api/conversations/{cid}/notes", "u-admin", {"body": "@u-ct call her"})
    assert r.status_code == 200, r.text
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    r = await w.post(f"/api/conversations/{other}/snooze", "u-ct", {"until": soon})
    assert r.status_code == 200, r.text

    async def woke() -> bool:
        return (await w.conversation(other))["status"] == "open"

    await eventually(woke)
    r = await w.post(
        "/api/conversations/bulk",
        "u-ct",
        {
            "action": "snooze",
            "until": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "conversation_ids": [str(cid), str(other)],
        },
    )
    assert r.status_code == 200 and len(r.json()["applied"]) == 2
    await eventually(lambda: _idle(w), timeout_s=60)
    engine = make_engine(w.settings.database_url)
    live = await checksums(engine, "inbox")
    assert live["conversations"][0] >= 2 and live["membership_history"][0] > 0
    result = await rebuild(
        w.settings.model_copy(update={"consumer_group_prefix": f"rb{uuid.uuid4().hex[:6]}-"}),
        progress=False,
    )
    assert result.switched and result.events > 0
    rebuilt = await checksums(engine, result.schema)
    assert rebuilt == live
    async with engine.connect() as conn:
        active = await conn.scalar(text("SELECT schema_name FROM inbox.generations WHERE active"))
    await engine.dispose()
    assert active == result.schema
    # the gateway reads the new generation, and the live projection writes to it
    assert (await w.conversation(cid))["patient"]["name"] == "Ada Lovelace"
    new = await w.sms(phone(), "after the switch")
    assert await w.listed("shared/unassigned", "u-admin", new)

    # rebuilt again: the previous generation is kept, the one before is emptied
    await eventually(lambda: _idle(w), timeout_s=60)
    # (in batches of 2 events: the bulk load's state, history intervals closed by a later
    # batch, and the writes of one batch beside the fold of the next)
    again = await rebuild(
        w.settings.model_copy(update={"consumer_group_prefix": f"rb{uuid.uuid4().hex[:6]}-"}),
        progress=False,
        batch=2,
    )
    engine = make_engine(w.settings.database_url)
    assert await checksums(engine, again.schema) == await checksums(engine, result.schema)
    assert await prune(engine, keep=1) == ["inbox"]
    async with engine.connect() as conn:
        left = await conn.scalar(text("SELECT count(*) FROM inbox.conversations"))
        kept = await conn.scalar(text(f"SELECT count(*) FROM {result.schema}.conversations"))
    await engine.dispose()
    assert left == 0 and kept > 0
    assert (await w.conversation(new))["message_count"] == 1


async def _idle(w: World) -> bool:
    return await _lag(w) == 0
