"""Text PostgreSQL cannot store (NUL, lone surrogates), end to end (issue 13, defects 4 and 5).

An SMS or email a provider delivers with such text is acknowledged, routed, projected and
shown in its safe form (U+FFFD), found by search, never dead-lettered, and rebuilt the same
from the topics. A staff or patient API request with it is refused: 422 naming the field,
never echoing the value, in the problem-details shape. Real Kafka and PostgreSQL: ingest and
the gateway in process, the router and the inbox projection as processes."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from inbox_support import PRACTICE, ServiceProcess, eventually, in_process, phone, user
from pydantic import SecretStr

from switchboard.events import Topic
from switchboard.gateway.app import MIGRATIONS as GATEWAY_MIGRATIONS
from switchboard.gateway.app import build_app as gateway_app
from switchboard.gateway.auth import Principal, issue_token
from switchboard.gateway.settings import GatewaySettings
from switchboard.gateway.users import upsert_users
from switchboard.inbox_projection.app import MIGRATIONS as INBOX_MIGRATIONS
from switchboard.inbox_projection.app import TOPICS
from switchboard.inbox_projection.rebuild import checksums, partitions, rebuild
from switchboard.ingest.adapters.twilio import signature
from switchboard.ingest.app import MIGRATIONS as INGEST_MIGRATIONS
from switchboard.ingest.app import build_app as ingest_app
from switchboard.ingest.settings import IngestSettings
from switchboard.platform.db import make_engine
from switchboard.platform.kafka import ensure_topics
from switchboard.platform.migrations import upgrade
from switchboard.rules.signing import signed_headers

pytestmark = pytest.mark.integration

LINE = "+12125550000"
MAILBOX = "front@demo.switchboard.test"
SECRET = "text-edge-jwt-secret-0123456789abcdef0123"
MAIL_SECRET = "text-edge-mail-secret-0123456789abcdef"
ADMIN = user("te-admin", "practice_admin", ("inbox.full_patient",))
GROUPS = "text-edge-"


def admin() -> dict[str, str]:
    p = Principal(ADMIN["user_id"], PRACTICE, "practice_admin", frozenset(ADMIN["policies"]))
    return {"Authorization": f"Bearer {issue_token(p, SECRET, 3600)}"}


class Edge:
    def __init__(self, settings: Any, gateway: httpx.AsyncClient, ingest: httpx.AsyncClient):
        self.settings = settings
        self.gateway = gateway
        self.ingest = ingest

    async def found(self, words: str) -> dict[str, Any]:
        """The one message of the conversation search finds by `words`, once listed."""

        async def search() -> str | None:
            r = await self.gateway.get("/api/search", headers=admin(), params={"text": words})
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            return items[0]["conversation_id"] if items else None

        cid = await eventually(search)
        r = await self.gateway.get(f"/api/conversations/{cid}", headers=admin())
        assert r.status_code == 200, r.text
        [message] = r.json()["messages"]
        return dict(message)


@pytest.fixture(scope="module")
async def edge(settings, own_db, tmp_path_factory):
    test_db = own_db
    cfg = settings.model_copy(
        update={"topic_prefix": f"tedge{uuid.uuid4().hex[:6]}.", "database_url": test_db}
    )
    await ensure_topics(cfg)
    for migrations in (INBOX_MIGRATIONS, GATEWAY_MIGRATIONS, INGEST_MIGRATIONS):
        upgrade(migrations, test_db)
    upsert_users(test_db, [ADMIN])
    router = ServiceProcess("router", cfg, GROUPS)
    projection = ServiceProcess("inbox-projection", cfg, GROUPS)
    try:
        router.start(timeout_s=240)
        projection.start(timeout_s=240)
    except BaseException:
        projection.stop()
        router.stop()
        raise
    gw = gateway_app(
        GatewaySettings(
            service_name="gateway",
            kafka_bootstrap=cfg.kafka_bootstrap,
            database_url=test_db,
            topic_prefix=cfg.topic_prefix,
            jwt_secret=SECRET,
        )
    )
    ing = ingest_app(
        IngestSettings(
            service_name="ingest",
            kafka_bootstrap=cfg.kafka_bootstrap,
            database_url=test_db,
            topic_prefix=cfg.topic_prefix,
            consumer_group_prefix=GROUPS,
            attachment_dir=str(tmp_path_factory.mktemp("attachments")),
            twilio_auth_token="tw-token",
            email_webhook_secret=SecretStr(MAIL_SECRET),
            practices=[PRACTICE],
            smtp_listen_port=None,
        )
    )
    try:
        async with in_process(gw, "http://gateway") as g, in_process(ing, "http://ingest") as i:
            yield Edge(cfg, g, i)
    finally:
        projection.stop()
        router.stop()


async def sms_with_nul(edge: Edge) -> str:
    """An SMS whose text has a NUL and a lone surrogate's bytes, accepted; its marker word."""
    marker = f"wheeze{uuid.uuid4().hex[:6]}"
    url = f"http://ingest/webhooks/twilio/sms/{PRACTICE}"
    # NUL, and the UTF-8 bytes of a lone surrogate (U+D800) as a sender could put them
    text = f"Need my {marker}\x00inhaler ".encode() + b"\xed\xa0\x80"
    form = urlencode({"MessageSid": f"SM{uuid.uuid4().hex}", "From": phone(), "To": LINE})
    form += "&" + urlencode({"Body": text})
    params = dict(parse_qsl(form, keep_blank_values=True))  # signed as the server reads it
    r = await edge.ingest.post(
        url,
        content=form.encode(),
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature("tw-token", url, params),
        },
    )
    assert r.status_code == 200, r.text
    return marker


async def test_an_sms_with_nul_is_shown_found_and_never_dead_lettered(edge):
    # Defect 4: answered 200, routed, then the projection failed 5 times and dead-lettered it.
    marker = await sms_with_nul(edge)
    message = await edge.found(marker)
    assert message["body"].startswith(f"Need my {marker}\ufffdinhaler ")
    assert "\x00" not in message["body"]
    # found by the words around the NUL too
    r = await edge.gateway.get("/api/search", headers=admin(), params={"text": "inhaler"})
    assert r.status_code == 200 and r.json()["items"]


async def test_an_email_with_nul_in_subject_body_and_file_name(edge):
    marker = f"rash{uuid.uuid4().hex[:6]}"
    raw = (
        b"From: Nul Sender <nul.sender@example.com>\r\n"
        + f"To: {MAILBOX}\r\n".encode()
        + b"Subject: caf\xe9\x00 question\r\n"
        + f"Message-ID: <{uuid.uuid4().hex}@example.com>\r\n".encode()
        + b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
        + b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + f"My {marker}\x00is worse\r\n".encode()
        + b"--XX\r\nContent-Type: text/plain\r\n"
        + b'Content-Disposition: attachment; filename="photo\x00.txt"\r\n\r\nabc\r\n'
        + b"--XX--\r\n"
    )
    headers = {
        "content-type": "message/rfc822",
        **signed_headers(MAIL_SECRET, int(time.time()), raw),
    }
    r = await edge.ingest.post("/webhooks/email", content=raw, headers=headers)
    assert r.status_code in (200, 202), r.text
    message = await edge.found(marker)
    assert message["body"].startswith(f"My {marker}\ufffdis worse")
    # the 8-bit byte the email parser could not decode, and the NUL: both U+FFFD
    assert message["subject"] == "caf\ufffd\ufffd question"
    assert [a["filename"] for a in message["attachments"]] == ["photo\ufffd.txt"]


async def test_nothing_was_dead_lettered_and_a_rebuild_gives_the_same_rows(edge):
    # A text of its own (alone there would be nothing to rebuild), beside the other tests'.
    await edge.found(await sms_with_nul(edge))
    await eventually(lambda: _idle(edge), timeout_s=120)
    assert await _dead_letters(edge) == 0
    engine = make_engine(edge.settings.database_url)
    try:
        live = await checksums(engine, "inbox")
        result = await rebuild(
            edge.settings.model_copy(
                update={"consumer_group_prefix": f"terb{uuid.uuid4().hex[:6]}-"}
            ),
            progress=False,
        )
        assert result.switched and result.events > 0
        assert await checksums(engine, result.schema) == live
    finally:
        await engine.dispose()


BAD = "Ada\x00Lovelace"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "loc"),
    [
        ("POST", "/api/auth/login", {"json": {"username": BAD, "password": "x"}}, "body.username"),
        (
            "PUT",
            "/api/admin/templates/greeting",
            {"json": {"name": "Greeting", "body": BAD}},
            "body.body",
        ),
        ("GET", "/api/search", {"params": {"name": BAD}}, "query.name"),
        ("GET", "/api/search", {"params": {"text": BAD}}, "query.text"),
        ("GET", "/api/patients", {"params": {"q": BAD}}, "query.q"),
    ],
)
async def test_the_gateway_answers_422_naming_the_field(edge, method, path, kwargs, loc):
    # Defect 5: each of these was a 500 (PostgreSQL refused the NUL).
    r = await edge.gateway.request(method, path, headers=admin(), **kwargs)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == 422 and loc in problem["detail"]
    assert [".".join(map(str, e["loc"])) for e in problem["errors"]] == [loc]
    assert "Lovelace" not in r.text  # the value is never echoed


async def test_the_patient_messenger_refuses_it_too(edge):
    body = {"given_name": BAD, "family_name": "L", "birth_date": "1990-01-01", "phone": "+1"}
    r = await edge.ingest.post(f"/patient/{PRACTICE}/sessions", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "given_name"]
    assert "Lovelace" not in r.text
    r = await edge.ingest.post(
        f"/patient/{PRACTICE}/messages",
        content=b'{"client_message_id": "m1", "body": "help \\ud800"}',
        headers={"content-type": "application/json", "authorization": "Bearer x"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "body"]


async def _idle(edge: Edge) -> bool:
    """The projection's live group has committed everything on its topics."""
    s = edge.settings
    tps = await partitions(s, [s.topic(t) for t in TOPICS])
    admin_client = AIOKafkaAdminClient(bootstrap_servers=s.kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=s.kafka_bootstrap)
    await admin_client.start()
    await consumer.start()
    try:
        committed = await admin_client.list_consumer_group_offsets(f"{GROUPS}inbox-projection")
        end = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
        await admin_client.close()
    return sum(end[tp] - (committed[tp].offset if tp in committed else 0) for tp in tps) == 0


async def _dead_letters(edge: Edge) -> int:
    """Records on the dead-letter topic (it exists: ensure_topics made it)."""
    tps = await partitions(edge.settings, [edge.settings.topic(Topic.DEAD_LETTER)])
    assert tps
    consumer = AIOKafkaConsumer(bootstrap_servers=edge.settings.kafka_bootstrap)
    await consumer.start()
    try:
        return sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()
