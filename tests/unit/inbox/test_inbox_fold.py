"""The inbox fold (pure): views, status, assignment, linking, versions, history, order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from switchboard.events import (
    CareTeamUpserted,
    ConversationAssigned,
    ConversationLinked,
    ConversationStatusChanged,
    Event,
    MessageReceived,
    MessageRouted,
    PatientUpserted,
    ReplyRequested,
    StaffAddressesSet,
    deterministic_id,
)
from switchboard.inbox_projection.model import Fold, boxes

T0 = datetime(2026, 6, 5, 16, 0, tzinfo=UTC)
P = "demo"
CID = deterministic_id("fold", "conv")
MID = deterministic_id("fold", "msg")


def env(name: str, at: datetime = T0, **extra) -> dict:
    eid = deterministic_id("fold", name)
    return {"event_id": eid, "correlation_id": eid, "practice_id": P, "occurred_at": at, **extra}


def received(name="m1", at=T0, sender="+12125550111", recipient="+12125550000", **kw):
    return MessageReceived(
        **env(name, at),
        message_id=deterministic_id("fold", "mid", name),
        conversation_id=CID,
        channel="sms",
        sender=sender,
        recipient=recipient,
        provider="test",
        provider_message_id=name,
        received_at=at,
        body="hello",
        **kw,
    )


def routed(name="r1", at=T0 + timedelta(seconds=1), **kw):
    kw.setdefault("reason", "other")
    return MessageRouted(
        **env(name, at),
        message_id=MID,
        conversation_id=CID,
        reason_source="none",
        decided_at=at,
        **kw,
    )


def patient(pid="pat-1", team=("u-ct",), primary="u-ct", at=T0 - timedelta(days=1)):
    return PatientUpserted(
        **env(f"p-{pid}-{at.isoformat()}", at),
        patient_id=pid,
        given_name="Ada",
        family_name="Lovelace",
        care_team=team,
        primary_contact=primary,
        source_updated_at=at,
    )


def action(cls, name, at, **kw):
    return cls(**env(name, at), conversation_id=CID, actor=kw.pop("actor", "u-admin"), **kw)


def fold(events: list[Event], emit: bool = True) -> Fold:
    f = Fold(emit=emit)
    f.loaded()
    f.apply(events)
    return f


def conv(f: Fold):
    return f.conversations[CID]


def test_views_of_a_recognized_conversation():
    # covers I-VIEW-1, I-VIEW-2, I-VIEW-3, I-VIEW-4, R-SUB-2
    f = fold(
        [
            patient(),
            received(),
            routed(patient_id="pat-1", recipients=("u-ma",), inboxes=("unassigned", "shared:rx")),
        ]
    )
    assert boxes(conv(f), f.patients) == {
        "inbox:unassigned",
        "inbox:shared:rx",
        "routed:u-ma",
        "careteam:u-ct",
        "primary:u-ct",
        "all",
    }


def test_unrecognized_sender_of_several_patients():
    # covers I-UNREC-1, I-VIEW-2, I-VIEW-3
    f = fold(
        [
            patient("pat-1", team=("u-a",), primary=None),
            patient("pat-2", team=("u-b",), primary=None),
            received(),
            routed(matched_patient_ids=("pat-1", "pat-2")),
        ]
    )
    bx = boxes(conv(f), f.patients)
    assert {"all_unrec", "careteam_unrec:u-a", "careteam_unrec:u-b"} <= bx
    assert "all" not in bx and not any(b.startswith("careteam:") for b in bx)
    # replying is refused until linked; linking makes it directed to the care team
    reply = action(
        ReplyRequested,
        "reply",
        T0 + timedelta(minutes=1),
        message_id=uuid.uuid4(),
        channel="sms",
        line="+12125550000",
        to="+12125550111",
        body="hi",
        requested_at=T0 + timedelta(minutes=1),
    )
    f.apply([reply])
    assert f.outcomes[reply.event_id] == "unrecognized"
    link = action(ConversationLinked, "link", T0 + timedelta(minutes=2), patient_id="pat-2")
    f.apply([link])
    assert conv(f).patient_id == "pat-2" and conv(f).linked_by == "u-admin"
    assert "careteam:u-b" in boxes(conv(f), f.patients)
    # a later decision does not undo the staff's link
    f.apply([routed("r2", at=T0 + timedelta(minutes=3), matched_patient_ids=("pat-1", "pat-2"))])
    assert conv(f).patient_id == "pat-2"


def test_my_unrecognized_is_assigned_to_me_without_the_patient_on_my_team():
    # covers I-VIEW-1
    f = fold([patient(), received(), routed(patient_id="pat-1")])
    f.apply([action(ConversationAssigned, "a1", T0 + timedelta(minutes=1), assignee="u-other")])
    bx = boxes(conv(f), f.patients)
    assert {"assigned:u-other", "unrec:u-other"} <= bx
    f.apply([action(ConversationAssigned, "a2", T0 + timedelta(minutes=2), assignee="u-ct")])
    bx = boxes(conv(f), f.patients)
    assert "assigned:u-ct" in bx and "unrec:u-ct" not in bx and "assigned:u-other" not in bx


def test_inbound_opens_send_closes_by_hand_any_time():
    # covers I-STATUS-1
    f = fold([patient(), received(), routed(patient_id="pat-1")])
    assert conv(f).status == "open"
    reply_at = T0 + timedelta(minutes=5)
    reply = action(
        ReplyRequested,
        "reply",
        reply_at,
        message_id=uuid.uuid4(),
        channel="sms",
        line="+12125550000",
        to="+12125550111",
        body="done",
        requested_at=reply_at,
    )
    close = ConversationStatusChanged(
        **env("close", reply_at),
        causation_id=reply.event_id,
        conversation_id=CID,
        actor="u-admin",
        status="closed",
    )
    f.apply([reply, close])
    assert conv(f).status == "closed" and "sent:u-admin" in boxes(conv(f), f.patients)
    f.apply([received("m2", at=T0 + timedelta(minutes=6))])
    assert conv(f).status == "open"
    f.apply([action(ConversationStatusChanged, "s", T0 + timedelta(minutes=7), status="closed")])
    assert conv(f).status == "closed"
    # an older status change arriving late does not win
    f.apply([action(ConversationStatusChanged, "old", T0 + timedelta(minutes=6), status="open")])
    assert conv(f).status == "closed"


def test_stale_version_is_refused_and_so_is_what_it_caused():
    f = fold([patient(), received(), routed(patient_id="pat-1")])
    v = conv(f).version
    ok = action(ConversationAssigned, "a1", T0 + timedelta(minutes=1), assignee="u-ct",
                expected_version=v)  # fmt: skip
    stale = action(ConversationAssigned, "a2", T0 + timedelta(minutes=2), assignee=None,
                   expected_version=v)  # fmt: skip
    f.apply([ok, stale])
    assert f.outcomes[ok.event_id] == "applied" and f.outcomes[stale.event_id] == "conflict"
    assert conv(f).assignee == "u-ct" and conv(f).version == v + 1
    reply_at = T0 + timedelta(minutes=3)
    reply = action(
        ReplyRequested,
        "reply",
        reply_at,
        message_id=uuid.uuid4(),
        channel="sms",
        line="l",
        to="t",
        body="x",
        requested_at=reply_at,
        expected_version=v,
    )
    close = ConversationStatusChanged(
        **env("close2", reply_at),
        causation_id=reply.event_id,
        conversation_id=CID,
        actor="u-admin",
        status="closed",
    )
    f.apply([reply, close])
    assert f.outcomes[close.event_id] == "conflict" and conv(f).status == "open"


def test_written_to_a_staff_members_number_assigns_it_and_says_so():
    # covers I-ASSIGN-1, I-AUDIT-1
    addresses = StaffAddressesSet(
        **env("addr"), actor="u-admin", staff_id="u-dr", addresses=("+12125550999",)
    )
    f = fold([addresses, received(recipient="+12125550999")])
    assert conv(f).assignee == "u-dr"
    (emitted,) = f.out
    assert isinstance(emitted, ConversationAssigned) and emitted.assignee == "u-dr"
    assert emitted.actor == "system"
    assert not fold([addresses, received(recipient="+12125550999")], emit=False).out


def test_care_team_resource_adds_members_and_primary_contact():
    team = CareTeamUpserted(
        **env("ct"),
        care_team_id="ct-1",
        patient_id="pat-1",
        members=("u-team",),
        primary_contact="u-team",
        source_updated_at=T0,
    )
    f = fold([patient(), received(), routed(patient_id="pat-1"), team])
    bx = boxes(conv(f), f.patients)
    assert {"careteam:u-ct", "careteam:u-team", "primary:u-team"} <= bx
    assert "primary:u-ct" not in bx


def test_no_inbox_before_the_routing_decision():
    f = fold([received()])
    assert boxes(conv(f), f.patients) == frozenset()


@pytest.mark.parametrize("order", [(0, 1, 2), (1, 0, 2), (0, 2, 1)])
def test_message_and_decision_in_either_order_give_the_same_rows(order):
    # covers X-REPLAY-1: a message and its decision travel on two topics, with no order
    # between them (a sender's messages keep theirs: one partition). (0, 2, 1): the next
    # message is folded before the first one's decision (a rebuild reading the messages
    # topic ahead of the routing topic); the decision's intervals still open at its time.
    # The staff member's own number was set before; configuration set after a message never
    # reaches back to it.
    addresses = StaffAddressesSet(
        **env("addr"), actor="u-admin", staff_id="u-dr", addresses=("+12125550000",)
    )
    events = [
        received(),
        routed(patient_id="pat-1", recipients=("u-ma",)),
        received("m2", at=T0 + timedelta(seconds=30)),
    ]
    base = fold([patient()], emit=False)
    f = Fold(emit=False, patients=dict(base.patients))
    f.loaded()
    f.apply([addresses, *(events[i] for i in order)])
    rows = (
        conv(f).row(),
        sorted((r["box"], r["valid_from"], r["valid_to"]) for r in f.history_open),
    )
    reference = Fold(emit=False, patients=dict(base.patients))
    reference.loaded()
    reference.apply([addresses, *events])
    expected = (
        conv(reference).row(),
        sorted((r["box"], r["valid_from"], r["valid_to"]) for r in reference.history_open),
    )
    assert rows == expected
