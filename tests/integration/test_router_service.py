"""The router process against the real Kafka and PostgreSQL: configuration and PM events in,
decisions out, with explanations, re-routes, coverage, history, what-if and replay."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from router_process import (
    NOW,
    RouterProcess,
    appointment,
    by_message,
    location,
    message,
    patient,
    routed_until,
    settings_changed,
    subscribed,
)
from sqlalchemy import create_engine, text

from switchboard.events import (
    AutoAssignPolicySet,
    ProposedSubscription,
    RoutingProposalApplied,
    StaffAvailabilityChanged,
    Topic,
    deterministic_id,
)
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer

pytestmark = pytest.mark.integration

MANHATTAN, BROOKLYN = "loc-manhattan", "loc-brooklyn"
MA = "u-ma-manhattan-1"
FRONT = "u-front-desk"
SHARED_PHONE = "+12125550177"


def envelope(name: str, at) -> dict:
    eid = deterministic_id("router-it", "cfg", name)
    return {
        "event_id": eid,
        "correlation_id": eid,
        "practice_id": "manhattan-medical",
        "occurred_at": at,
    }


def conversation_of(sender: str) -> uuid.UUID:
    return deterministic_id("router-it", "conv", sender)


@pytest.fixture(scope="module")
async def world(settings, test_db):
    # Topics and a database of its own: the replay test compares against everything in them
    # (other modules run routers of their own on the session's database).
    settings = settings.model_copy(update={"topic_prefix": f"rt{uuid.uuid4().hex[:8]}."})
    await ensure_topics(settings)
    server = test_db.rsplit("/", 1)[0]
    name = f"sb_router_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    test_db = f"{server}/{name}"
    producer = make_producer(settings)
    await producer.start()
    router = RouterProcess(settings, test_db, group_prefix="live-")
    router.start()
    yield settings, Publisher(producer, settings), router, test_db
    router.stop()
    await producer.stop()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


async def step_routes_by_reason_and_next_appointment_location(world):
    # covers R-REASON-2, R-LOC-1, R-SUB-1, R-SUB-2, R-EXPLAIN-1, X-EXPLAIN-1
    settings, publisher, router, _ = world
    before = NOW - timedelta(hours=2)
    await publisher.publish(
        [
            location(MANHATTAN),
            location(BROOKLYN),
            subscribed(
                MA,
                at=before,
                reasons=("prescriptions_refills", "test_lab_results"),
                locations=(MANHATTAN,),
            ),
            subscribed(
                FRONT,
                at=before,
                reasons=("other", "billing"),
                locations=(MANHATTAN, BROOKLYN, "location_unknown"),
                inboxes=("unassigned",),
            ),
            settings_changed("on", at=before, reason_routing=True, location_routing=True),
            patient("pat-1", "+12125550111"),
            appointment("appt-1", "pat-1", MANHATTAN, version=1),
        ]
    )
    refill = message("m1", "pat-1@example.org", patient_id="pat-1", reason="prescriptions_refills")
    await publisher.publish([refill])
    decisions = await routed_until(settings, lambda ds: by_message(ds, refill) is not None)
    d = by_message(decisions, refill)
    assert d.reason == "prescriptions_refills" and d.reason_source == "patient_pick"
    assert d.location_id == MANHATTAN and d.location_source == "next_appointment"
    assert d.recipients == (MA,)
    assert d.inboxes[0] == "unassigned"
    assert d.settings_version == 1 and d.subscriptions_version == 2
    fired = {r.rule: r for r in d.explanation}
    assert fired["R-LOC-1"].inputs["appointment_id"] == "appt-1"
    assert fired["R-SUB-1"].inputs["recipients"] == [MA]

    # "Why not the front desk?" from the stored decision and the config it used.
    body = router.get(f"/conversations/{d.conversation_id}/decisions", staff_id=FRONT).json()
    staff = body["decisions"][0]["staff"]
    assert staff["received"] is False
    assert "reason prescriptions_refills" in staff["summary"]


async def step_sms_sender_is_matched_to_the_patient_by_phone_and_clears_the_reason(world):
    # covers R-OVERWRITE-1, R-LOC-1, I-UNREC-1
    settings, publisher, _, _ = world
    sms = message("m2", "+12125550111", channel="sms", at=NOW + timedelta(hours=3))
    await publisher.publish([sms])
    d = by_message(await routed_until(settings, lambda ds: by_message(ds, sms) is not None), sms)
    assert d.patient_id == "pat-1"
    assert d.location_id == MANHATTAN
    assert d.reason == "other" and d.reason_source == "cleared"
    assert d.recipients == (FRONT,)


async def step_shared_phone_is_unrecognized_with_every_match_offered(world):
    # covers I-UNREC-1, R-LOC-2
    settings, publisher, _, _ = world
    await publisher.publish([patient("pat-2", SHARED_PHONE), patient("pat-3", SHARED_PHONE)])
    sms = message("m3", SHARED_PHONE, channel="sms")
    await publisher.publish([sms])
    d = by_message(await routed_until(settings, lambda ds: by_message(ds, sms) is not None), sms)
    assert d.patient_id is None
    assert d.matched_patient_ids == ("pat-2", "pat-3")
    assert d.location_id is None and d.location_source == "unknown"
    assert d.recipients == (FRONT,)  # the Location unknown bucket


async def step_rescheduling_reroutes_open_conversations_and_cites_the_scheduling_event(world):
    # covers X-REROUTE-1
    settings, publisher, _, _ = world
    moved = appointment("appt-1", "pat-1", BROOKLYN, version=2, change="rescheduled")
    stale = appointment("appt-1", "pat-1", MANHATTAN, version=1)  # redelivered late: ignored
    await publisher.publish([moved, stale])

    def rerouted(ds):
        return [d for d in ds if d.trigger == "reroute" and d.causation_id == moved.event_id]

    decisions = await routed_until(settings, lambda ds: len(rerouted(ds)) >= 2)
    found = rerouted(decisions)
    assert {d.location_id for d in found} == {BROOKLYN}
    assert all(d.patient_id == "pat-1" for d in found)
    reasons = {d.reason for d in found}
    assert reasons <= {"prescriptions_refills", "other"}  # reasons are kept on a re-route
    assert not [d for d in decisions if d.trigger == "reroute" and d.causation_id == stale.event_id]


async def step_reasons_offered_coverage_and_history(world):
    # covers R-REASON-2, R-REASON-3, X-COVERAGE-1, X-ASOF-1
    _, _, router, _ = world
    reasons = router.get("/reasons").json()
    assert [r["code"] for r in reasons["reasons"]] == [
        "prescriptions_refills",
        "test_lab_results",
        "billing",
        "other",
    ]
    # covers R-REASON-1: the whole catalogue with labels, which the staff inbox names from
    catalogue = {r["code"]: r["label"] for r in reasons["catalogue"]}
    assert catalogue["prescriptions_refills"] == "Prescriptions / Refills"
    assert catalogue["referrals"] == "Referrals"  # offered or not
    assert list(catalogue)[-1] == "other"
    assert reasons["show_picker"] is True  # a new conversation
    # The refill conversation is open (in Unassigned): no picker until it is closed.
    open_one = router.get("/reasons", conversation_id=str(conversation_of("pat-1@example.org")))
    assert open_one.json()["show_picker"] is False
    assert open_one.json()["current_reason"] == "prescriptions_refills"

    gaps = router.get("/coverage").json()["gaps"]
    assert {"reason": "prescriptions_refills", "location": BROOKLYN, "provider": None} in gaps
    assert {"reason": "other", "location": MANHATTAN, "provider": None} not in gaps

    earlier = (NOW - timedelta(hours=3)).isoformat()
    then = router.get("/config/history", at=earlier, staff_id=MA).json()
    assert then["subscription"] is None and then["config"]["reason_routing"] is False
    now = router.get("/config/history", staff_id=MA).json()
    assert "prescriptions_refills" in now["subscription"]["reasons"]
    assert [c["actor"] for c in now["changes"]] == ["u-admin"]


async def test_unreadable_record_is_dead_lettered_and_routing_goes_on(world):
    settings, publisher, _, _ = world
    await publisher.producer.send_and_wait(
        settings.topic(Topic.MESSAGES),
        b'{"event_type": "MessageReceived", "version": 99}',
        key=b"x",
    )
    after = message("m4", "pat-9@example.org", patient_id="pat-9")
    await publisher.publish([after])
    d = by_message(
        await routed_until(settings, lambda ds: by_message(ds, after) is not None), after
    )
    assert d.location_source == "unknown"
    dlq = AIOKafkaConsumer(
        settings.topic(Topic.DEAD_LETTER),
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await dlq.start()
    try:
        batches = await dlq.getmany(timeout_ms=5000)
        records = [r for rs in batches.values() for r in rs]
        assert any(r.value.endswith(b'"version": 99}') for r in records)
    finally:
        await dlq.stop()


async def step_what_if_reports_who_would_receive_what(world):
    # covers X-WHATIF-1
    _, _, router, _ = world
    body = router.post("/what-if", {"days": 1, "location_routing": False}).json()
    assert body["messages"] >= 3  # the story's refill, SMS and shared-phone messages at least
    staff = {s["staff_id"]: s for s in body["staff"]}
    # Without location routing the MA receives the refill request wherever the patient goes.
    assert staff[MA]["before"] >= 1
    assert staff[FRONT]["after"] >= staff[FRONT]["before"] - 1


async def step_auto_assignment_never_picks_someone_away(world):
    # covers X-BALANCE-1, X-AVAIL-1
    settings, publisher, _, _ = world
    at = NOW + timedelta(hours=5)
    await publisher.publish(
        [
            subscribed(
                "u-front-2",
                at=at,
                reasons=("other",),
                locations=("location_unknown",),
                inboxes=("unassigned",),
            ),
            AutoAssignPolicySet(
                actor="u-admin", inbox="unassigned", policy="round_robin", **envelope("rr", at)
            ),
            StaffAvailabilityChanged(
                actor="u-admin", staff_id=FRONT, out_of_office_from=at, **envelope("ooo", at)
            ),
        ]
    )
    first = message("m5", "+12125550999", channel="sms", at=at + timedelta(minutes=1))
    second = message("m6", "+12125550998", channel="sms", at=at + timedelta(minutes=2))
    await publisher.publish([first, second])
    decisions = await routed_until(
        settings,
        lambda ds: by_message(ds, first) is not None and by_message(ds, second) is not None,
    )
    assert by_message(decisions, first).assignee == "u-front-2"
    assert by_message(decisions, second).assignee == "u-front-2"  # FRONT is away: never picked
    assert FRONT in by_message(decisions, first).recipients  # still routed, alerts skip them


async def step_what_if_lists_the_combinations_each_person_would_lose(world):
    # covers X-WHATIF-1, X-WHATIF-1b
    _, _, router, _ = world
    body = router.post("/what-if", {"days": 1, "subscriptions": [{"staff_id": MA}]}).json()
    lost = [c for c in body["combos"] if c["staff_id"] == MA and c["change"] == "lost"]
    assert lost and all(c["messages"] >= 1 and c["examples"] for c in lost)
    refills = [c for c in lost if c["reason"] == "prescriptions_refills"]
    assert refills, lost
    assert str(conversation_of("pat-1@example.org")) in refills[0]["examples"]
    assert not [c for c in body["combos"] if c["change"] == "gained"]


async def step_a_proposal_applied_in_one_step_is_one_change(world):
    # covers X-WHATIF-1c
    _, publisher, router, _ = world
    before = router.get("/config/history").json()
    last = before["changes"][-1]
    at = NOW + timedelta(hours=6)
    event = RoutingProposalApplied(
        **envelope("proposal", at),
        actor="u-admin",
        proposal_id=uuid.uuid4(),
        provider_routing=False,
        subscriptions=(
            ProposedSubscription(staff_id="u-new-1", reasons=("billing",), locations=(BROOKLYN,)),
            ProposedSubscription(staff_id="u-new-2", reasons=("other",), locations=(MANHATTAN,)),
        ),
    )
    await publisher.publish([event])
    path = f"/config/events/{event.event_id}"
    for _ in range(300):  # the router applies it within a minute
        if router.get(path).status_code == 200:
            break
        await asyncio.sleep(0.2)
    after = router.get("/config/history").json()
    new = [c for c in after["changes"] if c["event_id"] == str(event.event_id)]
    assert len(after["changes"]) == len(before["changes"]) + 1 and len(new) == 1
    assert new[0]["settings_version"] == last["settings_version"] + 1
    assert new[0]["subscriptions_version"] == last["subscriptions_version"] + 1
    subs = {s["staff_id"] for s in after["config"]["subscriptions"]}
    assert {"u-new-1", "u-new-2"} <= subs


# One practice's routing as it evolves: each step starts from the configuration, patients and
# open conversations the steps before it left (the reschedule moves the refill conversation;
# the what-if counts the messages routed so far). The steps run in this order inside one test,
# so the tests of this module pass alone and in any order (pytest-randomly).
STORY = [
    step_routes_by_reason_and_next_appointment_location,
    step_sms_sender_is_matched_to_the_patient_by_phone_and_clears_the_reason,
    step_shared_phone_is_unrecognized_with_every_match_offered,
    step_rescheduling_reroutes_open_conversations_and_cites_the_scheduling_event,
    step_reasons_offered_coverage_and_history,
    step_what_if_reports_who_would_receive_what,
    step_auto_assignment_never_picks_someone_away,
    step_what_if_lists_the_combinations_each_person_would_lose,
    step_a_proposal_applied_in_one_step_is_one_change,
]


async def test_one_practice_routing_story(world):
    for step in STORY:
        await step(world)


async def test_replaying_the_log_gives_the_decisions_emitted_live(world):
    settings, publisher, _, test_db = world
    # covers X-REPLAY-1
    # At least one decision of its own (run alone there would be nothing to compare), and
    # whatever the other tests of the module had routed before.
    own = message("m-replay", "pat-replay@example.org", patient_id="pat-replay")
    await publisher.publish([own])
    await routed_until(settings, lambda ds: by_message(ds, own) is not None)
    replay_db = test_db.rsplit("/", 1)[0] + f"/sb_replay_{uuid.uuid4().hex[:8]}"
    admin = create_engine(test_db.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{replay_db.rsplit("/", 1)[1]}"'))
    replay = RouterProcess(settings, replay_db, group_prefix="replay-")
    try:
        live_engine = create_engine(test_db)
        with live_engine.connect() as conn:
            expected = dict(
                conn.execute(text("SELECT event_id, decision FROM router.decisions")).all()
            )
        assert expected
        replay.start()
        replay_engine = create_engine(replay_db)
        deadline = time.monotonic() + 60
        got: dict = {}
        while time.monotonic() < deadline and len(got) < len(expected):
            with replay_engine.connect() as conn:
                got = dict(
                    conn.execute(text("SELECT event_id, decision FROM router.decisions")).all()
                )
            await asyncio.sleep(0.5)
        assert got == expected
        replay_engine.dispose()
        live_engine.dispose()
    finally:
        replay.stop()
        with admin.connect() as conn:
            conn.execute(
                text(f'DROP DATABASE IF EXISTS "{replay_db.rsplit("/", 1)[1]}" WITH (FORCE)')
            )
        admin.dispose()


async def test_internal_api_only_on_its_own_port_and_only_for_its_callers(world):
    # issue 13: the router's internal API had no authentication at all
    _, _, router, _ = world
    path = "/internal/practices/manhattan-medical/routing"
    async with httpx.AsyncClient(timeout=10) as c:
        # the public port: ops routes only
        assert (await c.get(f"{router.url}{path}", headers=router.auth)).status_code == 404
        assert (await c.get(f"{router.url}/readyz")).status_code == 200
        # the internal port: a caller's token, nothing else
        anonymous = await c.get(f"{router.internal_url}{path}")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        wrong = await c.get(f"{router.internal_url}{path}", headers={"Authorization": "Bearer x"})
        assert wrong.status_code == 401
        ingest = router.credentials["ingest"]["SWITCHBOARD_INTERNAL_TOKEN"]
        for auth in (router.auth, {"Authorization": f"Bearer {ingest}"}):
            assert (await c.get(f"{router.internal_url}{path}", headers=auth)).status_code == 200
