"""The conversation API says why a conversation carries its reason and where it is routed,
explicitly (R-REASON-4, R-LOC-4), through the real inbox projection fold and PostgreSQL and
the gateway in process: a reason a voicemail or an SMS cleared is no longer indistinguishable
from a patient who picked Other, and "no location" is `{"state": "unknown"}`, not a bare null.

The routing decisions are the router's events, applied as the projection's consumer applies
a batch (`apply_batch`): the router's own choice of source is tested in its unit tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from inbox_support import PRACTICE, in_process, user

from switchboard.events import (
    Event,
    LocationUpserted,
    MessageReceived,
    MessageRouted,
    RuleFired,
)
from switchboard.gateway.app import MIGRATIONS as GATEWAY_MIGRATIONS
from switchboard.gateway.app import build_app as gateway_app
from switchboard.gateway.auth import Principal, issue_token
from switchboard.gateway.settings import GatewaySettings
from switchboard.gateway.users import upsert_users
from switchboard.inbox_projection.app import MIGRATIONS as INBOX_MIGRATIONS
from switchboard.inbox_projection.handlers import apply_batch
from switchboard.platform.db import make_engine
from switchboard.platform.kafka import ensure_topics
from switchboard.platform.migrations import upgrade

pytestmark = pytest.mark.integration
SECRET = "reason-source-it-secret-0123456789abcdef"
ADMIN = user("u-admin", "practice_admin", ("inbox.full_patient",))
T0 = datetime.now(UTC) - timedelta(minutes=30)


def _env(n: int) -> dict[str, Any]:
    eid = uuid.uuid4()
    return {
        "event_id": eid,
        "correlation_id": eid,
        "practice_id": PRACTICE,
        "occurred_at": T0 + timedelta(seconds=n),
    }


def _message(cid: uuid.UUID, channel: str, n: int, **extra: Any) -> MessageReceived:
    return MessageReceived(
        **_env(n),
        message_id=uuid.uuid4(),
        conversation_id=cid,
        channel=channel,  # type: ignore[arg-type]
        sender="+12125550142",
        recipient="+12125550000",
        provider="twilio",
        provider_message_id=uuid.uuid4().hex,
        received_at=T0 + timedelta(seconds=n),
        body="hello",
        **extra,
    )


def _routed(m: MessageReceived, source: str, n: int, **extra: Any) -> MessageRouted:
    return MessageRouted(
        **_env(n),
        message_id=m.message_id,
        conversation_id=m.conversation_id,
        reason="other",
        reason_source=source,  # type: ignore[arg-type]
        decided_at=T0 + timedelta(seconds=n),
        **extra,
    )


def _cleared_by(channel: str, n: int) -> RuleFired:
    outcome = "voicemail clears" if channel == "voicemail" else "sms to textable number clears"
    return RuleFired(rule="R-OVERWRITE-1", outcome=outcome, inputs={"channel": channel})


@pytest.fixture(scope="module")
async def gateway(settings, own_db):
    cfg = settings.model_copy(
        update={"topic_prefix": f"rsrc{uuid.uuid4().hex[:6]}.", "database_url": own_db}
    )
    await ensure_topics(cfg)
    upgrade(INBOX_MIGRATIONS, own_db)
    upgrade(GATEWAY_MIGRATIONS, own_db)
    upsert_users(own_db, [ADMIN])
    app = gateway_app(
        GatewaySettings(
            service_name="gateway",
            kafka_bootstrap=cfg.kafka_bootstrap,
            database_url=own_db,
            topic_prefix=cfg.topic_prefix,
            jwt_secret=SECRET,
        )
    )
    async with in_process(app, "http://gateway") as client:
        yield client, own_db


async def _apply(database_url: str, events: list[Event]) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            from sqlalchemy.ext.asyncio import AsyncSession

            async with AsyncSession(bind=conn) as session:
                await apply_batch(session, events, "inbox", emit=False)
                await session.flush()
    finally:
        await engine.dispose()


async def _read(client, path: str) -> Any:
    p = Principal("u-admin", PRACTICE, "practice_admin", frozenset({"inbox.full_patient"}))
    r = await client.get(path, headers={"Authorization": f"Bearer {issue_token(p, SECRET, 60)}"})
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_cleared_reason_is_not_a_picked_other(gateway):
    # covers R-REASON-4, R-OVERWRITE-1, R-LABEL-1
    client, db = gateway
    picked, by_voicemail, by_sms = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    m1 = _message(picked, "web_chat", 1, selected_reason="other")
    m2 = _message(by_voicemail, "voicemail", 2)
    m3 = _message(by_sms, "sms", 3)
    await _apply(
        db,
        [
            m1,
            m2,
            m3,
            _routed(m1, "patient_pick", 4),
            _routed(m2, "cleared", 5, explanation=(_cleared_by("voicemail", 5),)),
            _routed(m3, "cleared", 6, explanation=(_cleared_by("sms", 6),)),
        ],
    )
    want = {picked: "picked", by_voicemail: "cleared_by_voicemail", by_sms: "cleared_by_sms"}
    for cid, source in want.items():
        detail = await _read(client, f"/api/conversations/{cid}")
        # The old field stays as it was (compatibility): all three say `other`.
        assert detail["reason"] == "other"
        assert detail["reason_source"] == source
        (inbound,) = [m for m in detail["messages"] if m["direction"] == "inbound"]
        assert (inbound["reason"], inbound["reason_source"]) == ("other", source)
        (decision,) = detail["decisions"]
        assert decision["reason_source"] == source

    # The listings carry it too (the typed summary model keeps the new fields).
    listed = await _read(client, "/api/inboxes/shared/unassigned")
    sources = {i["conversation_id"]: i["reason_source"] for i in listed["items"]}
    assert {sources.get(str(c)) for c in want} == set(want.values())


async def test_location_is_explicit_known_or_unknown(gateway):
    # covers R-LOC-4, R-LOC-1, R-SUB-1
    client, db = gateway
    known, unknown = uuid.uuid4(), uuid.uuid4()
    m1, m2 = _message(known, "sms", 10), _message(unknown, "sms", 11)
    place = LocationUpserted(**_env(9), location_id="loc-manhattan", name="Manhattan")
    await _apply(
        db,
        [
            place,
            m1,
            m2,
            _routed(
                m1, "none", 12, location_id="loc-manhattan", location_source="next_appointment"
            ),
            _routed(m2, "none", 13),
        ],
    )
    a = await _read(client, f"/api/conversations/{known}")
    assert a["location"] == {
        "state": "known",
        "id": "loc-manhattan",
        "name": "Manhattan",
        "source": "next_appointment",
    }
    assert a["location_id"] == "loc-manhattan"  # the old fields stay
    assert a["messages"][0]["location"]["state"] == "known"
    b = await _read(client, f"/api/conversations/{unknown}")
    assert b["location"] == {"state": "unknown", "id": None, "name": None, "source": None}
    assert b["location_id"] is None
    assert b["decisions"][0]["location"]["state"] == "unknown"
    listed = await _read(client, "/api/inboxes/shared/unassigned")
    by_id = {i["conversation_id"]: i for i in listed["items"]}
    assert by_id[str(unknown)]["location"]["state"] == "unknown"
    assert by_id[str(known)]["location"]["name"] == "Manhattan"
