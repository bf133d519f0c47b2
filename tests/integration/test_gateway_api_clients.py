"""API clients through the real gateway (issue 16, ADR 0024), with the router and the inbox
projection as processes on the real Kafka and PostgreSQL: a practice admin makes a client,
the program exchanges its id and secret for a token (client credentials), reads every inbox,
acts (assign, close, reply) as itself, and is refused once revoked or rotated away; a client
of one practice never reads another's; every call is in the access log."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from inbox_support import OTHER, PRACTICE, ServiceProcess, eventually, in_process, phone, user
from sqlalchemy import text

from switchboard.events import MessageReceived, PatientUpserted, Topic, decode, deterministic_id
from switchboard.gateway.app import MIGRATIONS as GATEWAY_MIGRATIONS
from switchboard.gateway.app import build_app as gateway_app
from switchboard.gateway.auth import Principal, issue_token
from switchboard.gateway.settings import GatewaySettings
from switchboard.gateway.users import upsert_users
from switchboard.inbox_projection.app import MIGRATIONS as INBOX_MIGRATIONS
from switchboard.platform.db import make_engine
from switchboard.platform.internal_api import dev_credentials, settings_update
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer
from switchboard.platform.migrations import upgrade

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

SECRET = "api-clients-it-secret-0123456789abcdef0123"
LINE = "+12125550000"
TOKEN = "/api/oauth/token"
CLIENTS = "/api/admin/api-clients"
FAILURE_LIMIT = 3
USERS = [
    user("admin-a", "practice_admin"),
    user("full-a", "staff", ("inbox.full_patient",)),
    user("staff-a", "staff"),
    user("admin-b", "practice_admin", practice=OTHER),
]


def staff(user_id: str) -> dict[str, str]:
    u = next(x for x in USERS if x["user_id"] == user_id)
    p = Principal(u["user_id"], u["practice_id"], u["role"], frozenset(u["policies"]))
    return {"Authorization": f"Bearer {issue_token(p, SECRET, 3600)}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _envelope(practice: str) -> dict[str, Any]:
    eid = uuid.uuid4()
    return {
        "event_id": eid,
        "correlation_id": eid,
        "occurred_at": datetime.now(UTC),
        "practice_id": practice,
    }


def _patient_and_message(practice: str) -> tuple[PatientUpserted, MessageReceived]:
    tag = uuid.uuid4().hex[:8]
    number = phone()
    now = datetime.now(UTC)
    pid = f"pat-api-{practice}-{tag}"
    patient = PatientUpserted(
        **_envelope(practice),
        patient_id=pid,
        given_name="Ada",
        family_name=f"Apiclient{tag}",
        phones=(number,),
        source_updated_at=now,
    )
    message = MessageReceived(
        **_envelope(practice),
        message_id=uuid.uuid4(),
        conversation_id=deterministic_id(practice, "sms", LINE, number),
        channel="sms",
        sender=number,
        recipient=LINE,
        provider="twilio",
        provider_message_id=f"SM{uuid.uuid4().hex}",
        received_at=now,
        body=f"please call me {tag}",
        patient_id=pid,
    )
    return patient, message


@pytest.fixture(scope="module")
async def world(settings, own_db):
    cfg = settings.model_copy(
        update={"topic_prefix": f"apic{uuid.uuid4().hex[:6]}.", "database_url": own_db}
    )
    await ensure_topics(cfg)
    upgrade(INBOX_MIGRATIONS, own_db)
    upgrade(GATEWAY_MIGRATIONS, own_db)
    upsert_users(own_db, USERS)
    producer = make_producer(cfg)
    await producer.start()
    publisher = Publisher(producer, cfg)
    credentials = dev_credentials()
    router = ServiceProcess("router", cfg, "apic-it-", **credentials["router"])
    projection = ServiceProcess("inbox-projection", cfg, "apic-it-")
    try:
        router.start(300)
        projection.start(300)
        gw = gateway_app(
            GatewaySettings(
                service_name="gateway",
                kafka_bootstrap=cfg.kafka_bootstrap,
                database_url=own_db,
                topic_prefix=cfg.topic_prefix,
                jwt_secret=SECRET,
                router_url=router.internal_url,
                pm_sync_url="http://127.0.0.1:9",
                ingest_url="http://127.0.0.1:9",
                notifier_url="http://127.0.0.1:9",
                action_wait_s=10,
                api_client_check_s=30,  # long: a revocation must still be seen at once
                sign_in_failure_limit=FAILURE_LIMIT,
                **settings_update(credentials["gateway"]),
            )
        )
        async with in_process(gw, "http://gateway") as client:
            conversations = {}
            for practice in (PRACTICE, OTHER):
                patient, message = _patient_and_message(practice)
                await publisher.publish([patient])
                await eventually(lambda p=patient: _known(client, p), timeout_s=60)
                await publisher.publish([message])
                conversations[practice] = message.conversation_id
            admin = {PRACTICE: staff("admin-a"), OTHER: staff("admin-b")}
            for practice, cid in conversations.items():

                async def listed(practice: str = practice, cid: uuid.UUID = cid) -> bool:
                    r = await client.get(f"/api/conversations/{cid}", headers=admin[practice])
                    return r.status_code == 200 and "unassigned" in r.json()["inboxes"]

                await eventually(listed, timeout_s=60)
            yield client, conversations, cfg
    finally:
        for proc in (projection, router):
            proc.stop()
        await producer.stop()


async def _known(client: httpx.AsyncClient, p: PatientUpserted) -> bool:
    who = staff("full-a") if p.practice_id == PRACTICE else staff("admin-b")
    r = await client.get("/api/patients", params={"q": p.family_name}, headers=who)
    # admin-b has no full-patient policy: it sees no patient list; wait a moment instead
    return r.status_code == 200 and (bool(r.json()) or p.practice_id == OTHER)


async def _new_client(client: httpx.AsyncClient, admin: str, name: str) -> dict[str, Any]:
    r = await client.post(CLIENTS, json={"name": name}, headers=staff(admin))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _token(client: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await client.post(
        TOKEN,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


async def _access(client_id: str, db_url: str) -> list[tuple[str, str | None]]:
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT action, conversation_id::text FROM gateway.access_log "
                    "WHERE user_id = :u ORDER BY id"
                ),
                {"u": client_id},
            )
            return [(r[0], r[1]) for r in rows]
    finally:
        await engine.dispose()


async def test_token_flow_reads_every_inbox_of_its_practice_only(world):
    # covers X-APICLIENT-1, T-1, T-2, T-3
    client, conversations, cfg = world
    made = await _new_client(client, "admin-a", "Data warehouse")
    cid, secret = made["client"]["client_id"], made["client_secret"]
    assert secret.startswith("sbcs_") and made["token_url"] == TOKEN
    listed = (await client.get(CLIENTS, headers=staff("admin-a"))).json()
    # listed (beside the clients other tests of the module made, in any order)
    assert cid in [c["client_id"] for c in listed["clients"]]
    assert secret not in str(listed)  # shown once: never listed

    r = await _token(client, cid, secret)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "inbox.api"
    assert 60 <= body["expires_in"] <= 3600
    auth = bearer(body["access_token"])
    # HTTP Basic works too (client_secret_basic)
    raw = base64.b64encode(f"{cid}:{secret}".encode()).decode()
    basic = await client.post(
        TOKEN, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {raw}"}
    )
    assert basic.status_code == 200, basic.text

    me = (await client.get("/api/me", headers=auth)).json()
    assert me["user_id"] == cid and me["role"] == "api_client" and me["practice_id"] == PRACTICE
    all_ids = {
        c["conversation_id"]
        for c in (await client.get("/api/inboxes/all/directed", headers=auth)).json()["items"]
    }
    unassigned = await client.get("/api/inboxes/shared/unassigned", headers=auth)
    assert unassigned.status_code == 200
    assert str(conversations[PRACTICE]) in all_ids | {
        c["conversation_id"] for c in unassigned.json()["items"]
    }
    assert str(conversations[OTHER]) not in all_ids
    # another user's My Inbox (inbox.api)
    theirs = await client.get("/api/inboxes/my/assigned", params={"user": "staff-a"}, headers=auth)
    assert theirs.status_code == 200
    own = await client.get(f"/api/conversations/{conversations[PRACTICE]}", headers=auth)
    assert own.status_code == 200
    other = await client.get(f"/api/conversations/{conversations[OTHER]}", headers=auth)
    assert other.status_code == 404  # T-1: as if it did not exist
    # the other practice's admin sees none of it, and cannot touch it
    assert (await client.get(CLIENTS, headers=staff("admin-b"))).json()["clients"] == []
    for method, path in (
        ("POST", f"{CLIENTS}/{cid}/rotate-secret"),
        ("DELETE", f"{CLIENTS}/{cid}"),
    ):
        r = await client.request(method, path, headers=staff("admin-b"))
        assert r.status_code == 404, r.text
    # staff who are not admins manage no clients; a client manages none either
    assert (await client.get(CLIENTS, headers=staff("full-a"))).status_code == 403
    assert (await client.get(CLIENTS, headers=auth)).status_code == 403

    # T-3 / X-APICLIENT-1: every call is recorded with the client id, by route template
    rows = await _access(cid, cfg.database_url)
    actions = [a for a, _ in rows]
    assert "api GET /api/me" in actions
    assert "api GET /api/inboxes/{group}/{view}" in actions
    assert ("api GET /api/conversations/{conversation_id}", str(conversations[PRACTICE])) in rows
    assert ("read", str(conversations[PRACTICE])) in rows  # the conversation read itself
    assert "api GET /api/admin/api-clients" in actions  # refused calls too
    assert all(str(conversations[OTHER]) != c or a.startswith("api ") for a, c in rows)


async def test_wrong_secret_unknown_client_and_the_attempt_limit(world):
    # covers X-APICLIENT-1
    client, _, _ = world
    made = await _new_client(client, "admin-a", "CRM sync")
    cid, secret = made["client"]["client_id"], made["client_secret"]
    unknown = await _token(client, "apic-00000000000000ff", secret)
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    grant = await client.post(TOKEN, data={"grant_type": "password", "username": "x"})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    missing = await client.post(TOKEN, data={"client_id": cid})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    raw = base64.b64encode(f"{cid}:wrong".encode()).decode()
    basic = await client.post(
        TOKEN, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {raw}"}
    )
    assert basic.status_code == 401 and basic.json()["error"] == "invalid_client"
    assert basic.headers["www-authenticate"].startswith("Basic")
    for _ in range(FAILURE_LIMIT - 1):
        wrong = await _token(client, cid, secret + "x")
        assert wrong.status_code == 401, wrong.text
    # the limit is reached: even the right secret waits now
    blocked = await _token(client, cid, secret)
    assert blocked.status_code == 429 and blocked.json()["error"] == "slow_down"
    assert int(blocked.headers["retry-after"]) > 0
    # staff sign-in has the same limit, per username
    for _ in range(FAILURE_LIMIT):
        bad = await client.post(
            "/api/auth/login", json={"username": "staff-a@demo", "password": "nope"}
        )
        assert bad.status_code == 401
    right = await client.post(
        "/api/auth/login", json={"username": "staff-a@demo", "password": "pw-staff-a"}
    )
    assert right.status_code == 429 and int(right.headers["retry-after"]) > 0


async def test_revoked_client_is_refused_at_once(world):
    # covers X-APICLIENT-1
    client, _, _ = world
    made = await _new_client(client, "admin-a", "Nightly export")
    cid, secret = made["client"]["client_id"], made["client_secret"]
    auth = bearer((await _token(client, cid, secret)).json()["access_token"])
    assert (await client.get("/api/inboxes", headers=auth)).status_code == 200
    r = await client.delete(f"{CLIENTS}/{cid}", headers=staff("admin-a"))
    assert r.status_code == 200 and r.json()["active"] is False
    assert r.json()["revoked_by"] == "admin-a"
    refused = await client.get("/api/inboxes", headers=auth)
    assert refused.status_code == 401  # at once, though the check is cached for 30 s
    assert (await _token(client, cid, secret)).status_code == 401
    assert (
        await client.post(f"{CLIENTS}/{cid}/rotate-secret", headers=staff("admin-a"))
    ).status_code == 404
    listed = (await client.get(CLIENTS, headers=staff("admin-a"))).json()["clients"]
    assert next(c for c in listed if c["client_id"] == cid)["revoked_at"] is not None


async def test_rotated_secret_and_its_tokens_stop_working(world):
    # covers X-APICLIENT-1
    client, _, _ = world
    made = await _new_client(client, "admin-a", "EHR bridge")
    cid, old = made["client"]["client_id"], made["client_secret"]
    old_auth = bearer((await _token(client, cid, old)).json()["access_token"])
    assert (await client.get("/api/inboxes", headers=old_auth)).status_code == 200
    r = await client.post(f"{CLIENTS}/{cid}/rotate-secret", headers=staff("admin-a"))
    assert r.status_code == 200, r.text
    new = r.json()["client_secret"]
    assert new != old and r.json()["client"]["rotated_at"] is not None
    assert (await _token(client, cid, old)).status_code == 401
    assert (await client.get("/api/inboxes", headers=old_auth)).status_code == 401
    fresh = await _token(client, cid, new)
    assert fresh.status_code == 200
    ok = await client.get("/api/inboxes", headers=bearer(fresh.json()["access_token"]))
    assert ok.status_code == 200


async def _actions_of(cfg: Any, conversation_id: uuid.UUID) -> list[Any]:
    consumer = AIOKafkaConsumer(
        cfg.topic(Topic.ACTIONS),
        bootstrap_servers=cfg.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        found: list[Any] = []
        batches = await consumer.getmany(timeout_ms=5000)
        for records in batches.values():
            for record in records:
                event = decode(record.value)
                if getattr(event, "conversation_id", None) == conversation_id:
                    found.append(event)
        return found
    finally:
        await consumer.stop()


async def test_acting_by_api_names_the_client(world):
    # covers X-APICLIENT-1, I-AUDIT-1
    client, conversations, cfg = world
    made = await _new_client(client, "admin-a", "Front desk bot")
    cid, secret = made["client"]["client_id"], made["client_secret"]
    auth = bearer((await _token(client, cid, secret)).json()["access_token"])
    conv = conversations[PRACTICE]
    base = f"/api/conversations/{conv}"
    assign = await client.post(f"{base}/assign", json={"assignee": "full-a"}, headers=auth)
    assert assign.status_code == 200, assign.text
    assert assign.json()["conversation"]["assignee"] == "full-a"
    reply = await client.post(
        f"{base}/reply", json={"body": "We will call you today.", "keep_open": True}, headers=auth
    )
    assert reply.status_code in (200, 202), reply.text
    close = await client.post(f"{base}/status", json={"status": "closed"}, headers=auth)
    assert close.status_code == 200, close.text
    assert close.json()["conversation"]["status"] == "closed"

    async def replied() -> Any:
        r = await client.get(base, headers=staff("admin-a"))
        out = [m for m in r.json()["messages"] if m["direction"] == "outbound"]
        return out or None

    sent = await eventually(replied)
    assert sent[-1]["actor"] == cid  # the reply is the client's, not a person's
    events = await eventually(lambda: _actions_of(cfg, conv), timeout_s=30)
    mine = {type(e).__name__: e.actor for e in events if e.actor == cid}
    assert {"ConversationAssigned", "ReplyRequested", "ConversationStatusChanged"} <= set(mine)
    # the inbox names the client where it shows who acted
    directory = (await client.get("/api/staff", headers=staff("admin-a"))).json()
    assert {"user_id": cid, "display_name": "Front desk bot (API)", "role": "api_client"} in (
        directory
    )
