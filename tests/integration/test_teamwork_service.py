"""Team work through the real services (Kafka, PostgreSQL; router, inbox projection and
pm-sync as processes, the gateway and ingest in process: the world of test_inbox_service):
notes with @mentions, snooze and its durable wake-up across a restart of the projection,
bulk actions, and each bad input of issue 19."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from inbox_support import eventually, phone
from notifier_support import TopicReader
from sqlalchemy import text
from test_inbox_service import World, refill_request, world  # noqa: F401 (tw needs it)

from switchboard.events import Topic
from switchboard.ingest.adapters import storage as ingest_storage
from switchboard.platform.db import make_engine

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def tw(world: World) -> World:  # noqa: F811 (the fixture, by name)
    return world


async def _ingest_rows_holding(w: World, marker: str) -> int:
    """Rows of any of ingest's tables (what reaches the patient: sends, the patient page)
    that hold `marker`."""
    engine = make_engine(w.settings.database_url)
    try:
        async with engine.connect() as conn:
            total = 0
            for t in ingest_storage.metadata.sorted_tables:
                total += int(
                    await conn.scalar(
                        text(
                            f'SELECT count(*) FROM "{t.schema}"."{t.name}" x WHERE x::text LIKE :m'
                        ),
                        {"m": f"%{marker}%"},
                    )
                    or 0
                )
            return total
    finally:
        await engine.dispose()


async def test_a_note_with_mentions_is_for_staff_only(tw):
    # covers I-NOTE-1
    w = tw
    cid, _, _ = await refill_request(w)
    marker = f"note-{uuid.uuid4().hex[:10]}"
    # a mention of someone who cannot see the patient is refused, naming them
    r = await w.post(
        f"/api/conversations/{cid}/notes", "u-admin", {"body": f"{marker}", "mentions": ["u-staff"]}
    )
    assert r.status_code == 422 and "u-staff" in r.json()["detail"]
    assert "cannot see" in r.json()["detail"]
    r = await w.post(
        f"/api/conversations/{cid}/notes",
        "u-admin",
        {"body": f"ask @u-nobody {marker}", "mentions": ["u-nobody"]},
    )
    assert r.status_code == 422 and "u-nobody is not a colleague" in r.json()["detail"]
    # someone who cannot read the conversation cannot write a note on it
    r = await w.post(f"/api/conversations/{cid}/notes", "u-staff", {"body": marker})
    assert r.status_code == 403
    # a mention of the care team's doctor, written in the text
    r = await w.post(
        f"/api/conversations/{cid}/notes", "u-admin", {"body": f"@u-ct please call. {marker}"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["applied"] is True and r.json()["mentions"] == ["u-ct"]
    detail = await w.conversation(cid, "u-ct")
    notes = [m for m in detail["messages"] if m["direction"] == "note"]
    assert [(n["actor"], n["details"]["mentions"]) for n in notes] == [("u-admin", ["u-ct"])]
    assert detail["message_count"] == 1  # a note is not a message
    assert await w.listed("my/mentions", "u-ct", cid)
    # the admin was not mentioned: not in their Mentions
    assert all(c["conversation_id"] != str(cid) for c in await w.listing("my/mentions", "u-admin"))
    # never sent to the patient: after a reply that ingest has taken, the note is nowhere
    # in ingest (sends, the patient page), the reply is
    reply = f"reply-{uuid.uuid4().hex[:10]}"
    r = await w.post(f"/api/conversations/{cid}/reply", "u-ct", {"body": reply, "keep_open": True})
    assert r.status_code == 200, r.text

    async def reply_taken() -> bool:
        return await _ingest_rows_holding(w, reply) > 0

    await eventually(reply_taken)
    assert await _ingest_rows_holding(w, marker) == 0


async def test_snooze_leaves_the_open_lists_and_wakes_after_a_restart(tw):
    # covers I-SNOOZE-1
    w = tw
    cid, sender, _ = await refill_request(w)
    now = datetime.now(UTC)
    r = await w.post(
        f"/api/conversations/{cid}/snooze",
        "u-ct",
        {"until": (now - timedelta(minutes=1)).isoformat()},
    )
    assert r.status_code == 422 and "past" in r.json()["detail"]
    until = datetime.now(UTC) + timedelta(seconds=12)
    r = await w.post(f"/api/conversations/{cid}/snooze", "u-ct", {"until": until.isoformat()})
    assert r.status_code == 200, r.text
    conv = r.json()["conversation"]
    assert conv["status"] == "snoozed" and conv["snoozed_until"] is not None
    open_now = await w.listing("care-team/directed", "u-ct", status="open")
    assert all(c["conversation_id"] != str(cid) for c in open_now)
    assert await w.listed("care-team/directed", "u-ct", cid, status="snoozed")
    # the timer owner restarts while the snooze runs: the wake-up is not lost
    w.projection.stop()
    w.projection.start()

    async def woke() -> bool:
        return (await w.conversation(cid, "u-ct"))["status"] == "open"

    await eventually(woke, timeout_s=60)
    assert datetime.now(UTC) >= until
    assert await w.listed("care-team/directed", "u-ct", cid, status="open")

    # until the patient answers: their message ends it
    r = await w.post(f"/api/conversations/{cid}/snooze", "u-ct", {"until": None})
    assert r.status_code == 200 and r.json()["conversation"]["status"] == "snoozed"
    await w.sms(sender, "any news?")
    await eventually(woke)
    # a closed conversation is not snoozed
    r = await w.post(f"/api/conversations/{cid}/status", "u-ct", {"status": "closed"})
    assert r.status_code == 200
    r = await w.post(f"/api/conversations/{cid}/snooze", "u-ct", {"until": None})
    assert r.status_code == 409


async def _two(found: Callable[[], Awaitable[list[Any]]]) -> bool:
    return len(await found()) == 2


async def test_bulk_acts_on_what_the_user_may_and_lists_the_rest(tw):
    # covers I-BULK-1
    w = tw
    a, _, _ = await refill_request(w)
    b, _, _ = await refill_request(w)
    hidden = await w.sms(phone(), "nobody on u-ct's team")  # unrecognized: not u-ct's
    await w.listed("all/unrecognized", "u-admin", hidden)  # routed: nothing more to come
    stranger = uuid.uuid4()
    before = await w.conversation(hidden)
    r = await w.post(
        "/api/conversations/bulk",
        "u-ct",
        {"action": "close", "conversation_ids": [str(a), str(b), str(hidden), str(stranger)]},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert sorted(body["applied"]) == sorted([str(a), str(b)])
    assert {s["conversation_id"]: s["why"] for s in body["skipped"]} == {
        str(hidden): "not in your inboxes",
        str(stranger): "not in your inboxes",
    }
    for cid in (a, b):
        assert (await w.conversation(cid))["status"] == "closed"
    after = await w.conversation(hidden)
    assert (after["status"], after["version"]) == (before["status"], before["version"])
    # on the log: one event per conversation acted on, the same actor and batch id
    async with TopicReader(w.settings, Topic.ACTIONS) as log:

        async def batch() -> list[Any]:
            return log.of("ConversationStatusChanged", batch_id=uuid.UUID(body["batch_id"]))

        await eventually(lambda: _two(batch))
        events = await batch()
    assert sorted(str(e.conversation_id) for e in events) == sorted([str(a), str(b)])
    assert {(e.actor, e.status) for e in events} == {("u-ct", "closed")}
    # reopen, assign (to someone who can see each), snooze: the same per-conversation checks
    r = await w.post(
        "/api/conversations/bulk",
        "u-ct",
        {"action": "reopen", "conversation_ids": [str(a), str(b)]},
    )
    assert r.status_code == 200 and len(r.json()["applied"]) == 2
    r = await w.post(
        "/api/conversations/bulk",
        "u-admin",
        {"action": "assign", "assignee": "u-staff", "conversation_ids": [str(a)]},
    )
    assert r.status_code == 200
    assert r.json()["skipped"][0]["why"] == "u-staff cannot see this patient's conversation"
    r = await w.post(
        "/api/conversations/bulk",
        "u-ct",
        {
            "action": "snooze",
            "until": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            "conversation_ids": [str(a)],
        },
    )
    assert r.status_code == 422
    r = await w.post(
        "/api/conversations/bulk",
        "u-ct",
        {
            "action": "snooze",
            "until": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "conversation_ids": [str(a), str(b)],
        },
    )
    assert r.status_code == 200 and len(r.json()["applied"]) == 2
    assert (await w.conversation(a))["status"] == "snoozed"
    r = await w.post(
        "/api/conversations/bulk", "u-noinbox", {"action": "close", "conversation_ids": [str(a)]}
    )
    assert r.status_code == 403
