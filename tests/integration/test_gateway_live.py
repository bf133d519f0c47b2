"""Live updates through the gateway's WebSocket, against the real Kafka and PostgreSQL: two
gateway replicas, staff of two practices (I-LIVE-1, I-NOTIFY-1, T-1), and staff told only
of the conversations they may read (T-2). The inbox read model's rows are written here as the
projection would file them: u-a and u-b read SHARED, u-c reads only MARKER."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from switchboard.events import AlertSent, MessageRouted, deterministic_id
from switchboard.gateway.app import build_app
from switchboard.gateway.auth import Principal, issue_token
from switchboard.gateway.settings import GatewaySettings
from switchboard.inbox_projection.app import MIGRATIONS as INBOX_MIGRATIONS
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer
from switchboard.platform.migrations import upgrade

pytestmark = pytest.mark.integration
SECRET = "test-secret-for-live-updates-0123456789"
SHARED, MARKER = uuid.uuid4(), uuid.uuid4()  # conversations of practice demo
FILED = {SHARED: ("routed:u-a", "routed:u-b"), MARKER: ("routed:u-c",)}


def file_conversations(database_url: str) -> None:
    """The read model as the inbox projection leaves it after routing each conversation."""
    upgrade(INBOX_MIGRATIONS, database_url)
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for cid, boxes in FILED.items():
            conn.execute(
                text(
                    "INSERT INTO inbox.conversations (conversation_id, practice_id, channel, "
                    "line, sender, matched_patient_ids, status, inboxes, recipients, "
                    "message_count, sent_by, version) VALUES (:c, 'demo', 'sms', '+12125550000',"
                    " '+12125550199', '{}', 'open', '{}', '{}', 1, '{}', 1)"
                ),
                {"c": cid},
            )
            for box in boxes:
                conn.execute(
                    text(
                        "INSERT INTO inbox.membership (practice_id, box, conversation_id, "
                        "last_message_at, status, assigned, channel) "
                        "VALUES ('demo', :b, :c, :at, 'open', false, 'sms')"
                    ),
                    {"b": box, "c": cid, "at": now},
                )
    engine.dispose()


def token(user: str, practice: str = "demo", role: str = "staff") -> str:
    return issue_token(Principal(user, practice, role, frozenset()), SECRET, 3600)


def publish(settings, *events) -> None:
    async def send() -> None:
        producer = make_producer(settings)
        await producer.start()
        try:
            await Publisher(producer, settings).publish(events)
        finally:
            await producer.stop()

    asyncio.run(send())


def env(n: str, practice: str = "demo") -> dict:
    eid = deterministic_id("live-test", n, uuid.uuid4())
    return {
        "event_id": eid,
        "correlation_id": eid,
        "practice_id": practice,
        "occurred_at": datetime.now(UTC),
    }


def receive_until(ws, kind: str, timeout: float = 20.0) -> dict:
    return receive_all(ws, [kind], timeout)[kind]


def receive_all(ws, kinds: list[str], timeout: float = 20.0) -> dict[str, dict]:
    """The first message of each kind; kinds may arrive in any order (different topics)."""
    found: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(found) < len(kinds):
        message = ws.receive_json()
        if message["type"] in kinds:
            found.setdefault(message["type"], message)
    missing = set(kinds) - set(found)
    assert not missing, f"no {missing} message"
    return found


@pytest.fixture(scope="module")
def replicas(settings):
    gw = GatewaySettings(
        service_name="gateway",
        kafka_bootstrap=settings.kafka_bootstrap,
        database_url=settings.database_url,
        topic_prefix=f"live{uuid.uuid4().hex[:8]}.",  # only this module's events
        jwt_secret=SECRET,
    )
    asyncio.run(ensure_topics(gw))
    file_conversations(settings.database_url)
    with TestClient(build_app(gw)) as one, TestClient(build_app(gw)) as two:
        for client in (one, two):
            deadline = time.monotonic() + 30
            while client.get("/readyz").json()["checks"].get("live_relay") is not True:
                assert time.monotonic() < deadline, client.get("/readyz").json()
                time.sleep(0.2)
        yield gw, one, two


def routed(conversation: uuid.UUID) -> MessageRouted:
    return MessageRouted(
        **env("routed"),
        message_id=uuid.uuid4(),
        conversation_id=conversation,
        reason="other",
        reason_source="none",
        decided_at=datetime.now(UTC),
    )


def alert(conversation: uuid.UUID, staff_id: str) -> AlertSent:
    return AlertSent(
        **env("alert"),
        conversation_id=conversation,
        alert_id=uuid.uuid4(),
        staff_id=staff_id,
        channel="in_app",
        kind="message",
        why="subscribed",
        link="/inbox",
        sent_at=datetime.now(UTC),
    )


def heard_before_marker(ws) -> list[dict]:
    """What `ws` (u-c) was told before the MARKER conversation's change arrived. Sent after
    u-b (same replica, same dispatch) was told, so anything meant for u-c came before it."""
    heard = []
    while True:
        message = ws.receive_json()
        if message.get("conversation_id") == str(MARKER):
            return heard
        heard.append(message)


def test_presence_and_updates_cross_replicas_and_never_practices(replicas):
    # covers I-LIVE-1, I-NOTIFY-1, T-1, T-2
    gw, one, two = replicas
    conversation = SHARED
    with (
        one.websocket_connect(f"/api/live?token={token('u-a')}") as a,
        two.websocket_connect(f"/api/live?token={token('u-b')}") as b,
        two.websocket_connect(f"/api/live?token={token('u-c')}") as c,
        two.websocket_connect(f"/api/live?token={token('u-x', practice='other')}") as x,
    ):
        for ws in (a, b, c, x):
            assert ws.receive_json()["type"] == "hello"
        # u-a (replica one) opens the conversation and types; u-b (replica two) sees it.
        a.send_json({"type": "viewing", "conversation_id": str(conversation), "display_name": "A"})
        seen = receive_until(b, "presence")
        assert (seen["staff_id"], seen["state"], seen["display_name"]) == ("u-a", "viewing", "A")
        a.send_json({"type": "typing", "conversation_id": str(conversation)})
        assert receive_until(b, "presence")["state"] == "typing"

        # u-a may not read MARKER: no presence of theirs there.
        a.send_json({"type": "viewing", "conversation_id": str(MARKER)})
        assert receive_until(a, "error")["detail"] == "this conversation is in none of your inboxes"

        # A routed message and in-app alerts for u-b and (wrongly) u-c, who may not read it.
        publish(gw, routed(conversation), alert(conversation, "u-b"), alert(conversation, "u-c"))
        assert receive_until(a, "conversation")["conversation_id"] == str(conversation)
        got = receive_all(b, ["alert", "conversation"])
        told = got["alert"]
        assert told["conversation_id"] == str(conversation) and told["why"] == "subscribed"
        assert got["conversation"]["change"] == "MessageRouted"

        # u-c was told nothing of the conversation they may not read: neither who viewed and
        # typed in it, nor its change, nor an alert about it; but of their own, yes.
        publish(gw, routed(MARKER))
        assert heard_before_marker(c) == []

        # The other practice's user heard nothing of it (T-1): a marker proves the socket works.
        x.send_json({"type": "viewing", "conversation_id": "not-a-uuid"})
        assert x.receive_json() == {"type": "error", "detail": "conversation_id must be a UUID"}


def test_a_socket_without_a_valid_token_is_refused(replicas):
    _, one, _ = replicas
    from starlette.websockets import WebSocketDisconnect

    with (
        pytest.raises(WebSocketDisconnect) as refused,
        one.websocket_connect("/api/live?token=nope") as ws,
    ):
        ws.receive_json()
    assert refused.value.code == 4401


@pytest.mark.timeout(120)  # before the fix the socket stayed open: the read below hung
def test_an_api_clients_socket_is_closed_once_the_client_is_revoked(replicas, settings):
    # covers X-APICLIENT-1: a revoked program keeps no open door. The socket was left open
    # until the program closed it.
    from starlette.websockets import WebSocketDisconnect

    from switchboard.gateway.app import MIGRATIONS as GATEWAY_MIGRATIONS

    gw, _, _ = replicas
    upgrade(GATEWAY_MIGRATIONS, settings.database_url)
    admin = {"Authorization": f"Bearer {token('u-admin', role='practice_admin')}"}
    quick = gw.model_copy(update={"api_client_check_s": 0.5})
    with TestClient(build_app(quick)) as gateway:
        made = gateway.post("/api/admin/api-clients", json={"name": "Live feed"}, headers=admin)
        assert made.status_code == 201, made.text
        client_id = made.json()["client"]["client_id"]
        form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": made.json()["client_secret"],
        }
        access = gateway.post("/api/oauth/token", data=form).json()["access_token"]
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            gateway.websocket_connect(f"/api/live?token={access}") as ws,
        ):
            assert ws.receive_json()["type"] == "hello"
            revoked = gateway.delete(f"/api/admin/api-clients/{client_id}", headers=admin)
            assert revoked.status_code == 200, revoked.text
            ws.receive_json()  # nothing more: closed at the next check
        assert closed.value.code == 4401
