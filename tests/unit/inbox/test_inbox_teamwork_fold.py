"""The inbox fold for team work (pure): notes and their mentions, snooze and its wake-up."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from switchboard.events import (
    ConversationSnoozed,
    ConversationStatusChanged,
    ConversationWoke,
    Event,
    MessageReceived,
    MessageRouted,
    NoteAdded,
    deterministic_id,
)
from switchboard.inbox_projection.model import Fold, boxes
from switchboard.inbox_projection.snooze import wake_event

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
P = "demo"
CID = deterministic_id("tw", "conv")


def env(name: str, at: datetime) -> dict:
    eid = deterministic_id("tw", name)
    return {"event_id": eid, "correlation_id": eid, "practice_id": P, "occurred_at": at}


def received(name: str, at: datetime) -> MessageReceived:
    return MessageReceived(
        **env(name, at),
        message_id=deterministic_id("tw", "m", name),
        conversation_id=CID,
        channel="sms",
        sender="+12125550111",
        recipient="+12125550000",
        provider="test",
        provider_message_id=name,
        received_at=at,
        body="hello",
        patient_id="pat-1",
    )


def routed(at: datetime = T0 + timedelta(seconds=1)) -> MessageRouted:
    return MessageRouted(
        **env("r1", at),
        message_id=deterministic_id("tw", "m", "m1"),
        conversation_id=CID,
        reason="other",
        reason_source="none",
        decided_at=at,
        patient_id="pat-1",
        inboxes=("unassigned",),
    )


def note(name: str, at: datetime, mentions=("u-2",)) -> NoteAdded:
    return NoteAdded(
        **env(name, at),
        conversation_id=CID,
        actor="u-1",
        note_id=deterministic_id("tw", "note", name),
        body="@u-2 can you call back?",
        mentions=mentions,
    )


def snoozed(name: str, at: datetime, until: datetime | None) -> ConversationSnoozed:
    return ConversationSnoozed(**env(name, at), conversation_id=CID, actor="u-1", until=until)


def fold(events: list[Event]) -> Fold:
    f = Fold()
    f.loaded()
    f.apply(events)
    return f


def test_a_note_is_in_the_thread_as_a_note_and_lists_the_conversation_for_who_it_mentions():
    # covers I-NOTE-1
    f = fold([received("m1", T0), routed(), note("n1", T0 + timedelta(minutes=1))])
    c = f.conversations[CID]
    notes = [m for m in f.messages if m["direction"] == "note"]
    assert [(n["body"], n["actor"], n["details"]) for n in notes] == [
        ("@u-2 can you call back?", "u-1", {"mentions": ["u-2"]})
    ]
    # not a message: the count and the list order stay the patient's
    assert c.message_count == 1 and c.last_message_at == T0
    assert "mentioned:u-2" in boxes(c, f.patients)
    assert f.outcomes[note("n1", T0).event_id] == "applied"
    # and nothing is sent: no ReplyRequested, no outbound message
    assert not [m for m in f.messages if m["direction"] == "outbound"] and f.out == []


def test_mentions_accumulate_over_notes():
    # covers I-NOTE-1
    f = fold(
        [
            received("m1", T0),
            routed(),
            note("n1", T0 + timedelta(minutes=1), ("u-2",)),
            note("n2", T0 + timedelta(minutes=2), ("u-3", "u-2")),
        ]
    )
    assert f.conversations[CID].mentioned == ["u-2", "u-3"]


def test_snooze_leaves_the_open_lists_and_its_wake_up_opens_it():
    # covers I-SNOOZE-1
    until = T0 + timedelta(hours=1)
    s = snoozed("s1", T0 + timedelta(minutes=5), until)
    f = fold([received("m1", T0), routed(), s])
    c = f.conversations[CID]
    assert (c.status, c.snoozed_until, c.snooze_id) == ("snoozed", until, s.event_id)
    wake = wake_event(P, CID, s.event_id, until)
    assert wake.event_id == wake_event(P, CID, s.event_id, until).event_id  # one per snooze
    f.apply([wake])
    assert (c.status, c.status_at, c.snoozed_until, c.snooze_id) == ("open", until, None, None)


def test_a_patient_message_ends_the_snooze_and_the_late_wake_up_changes_nothing():
    # covers I-SNOOZE-1
    until = T0 + timedelta(hours=1)
    s = snoozed("s1", T0 + timedelta(minutes=5), until)
    f = fold([received("m1", T0), routed(), s, received("m2", T0 + timedelta(minutes=30))])
    c = f.conversations[CID]
    assert (c.status, c.snooze_id) == ("open", None)
    closed = ConversationStatusChanged(
        **env("c1", T0 + timedelta(minutes=40)), conversation_id=CID, actor="u-1", status="closed"
    )
    wake = wake_event(P, CID, s.event_id, until)
    f.apply([closed, wake])
    assert c.status == "closed"
    assert f.outcomes[wake.event_id] == "ignored"


def test_a_wake_up_of_an_earlier_snooze_does_not_end_a_later_one():
    # covers I-SNOOZE-1
    s1 = snoozed("s1", T0 + timedelta(minutes=5), T0 + timedelta(hours=1))
    s2 = snoozed("s2", T0 + timedelta(minutes=6), T0 + timedelta(hours=5))
    f = fold([received("m1", T0), routed(), s1, s2])
    f.apply([wake_event(P, CID, s1.event_id, T0 + timedelta(hours=1))])
    assert f.conversations[CID].status == "snoozed"
    staff_wake = ConversationWoke(
        **env("w", T0 + timedelta(hours=2)),
        conversation_id=CID,
        actor="u-1",
        snooze_id=s2.event_id,
        why="staff",
    )
    f.apply([staff_wake])
    assert f.conversations[CID].status == "open"


def test_bulk_events_carry_their_batch_id_and_apply_one_by_one():
    # covers I-BULK-1
    batch = uuid.uuid4()
    close = ConversationStatusChanged(
        **env("b1", T0 + timedelta(minutes=1)),
        conversation_id=CID,
        actor="u-1",
        status="closed",
        batch_id=batch,
    )
    f = fold([received("m1", T0), routed(), close])
    assert f.conversations[CID].status == "closed"
    assert close.model_dump()["batch_id"] == batch
