"""The public stream's translator (public_stream.py, ADR 0022): which public events an
internal event gives, in which order, with ids derived from the internal ones, and no patient
data on the public topic."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from switchboard.events import (
    AlertSent,
    ConversationAssigned,
    ConversationLinked,
    MessageReceived,
    MessageRouted,
    ReplyFailed,
    ReplyRequested,
    Topic,
    registered_events,
)
from switchboard.events.asyncapi import phi_fields
from switchboard.events.public import (
    PUBLIC_CONTENT_TYPES,
    PUBLIC_CONVERSATION_TYPES,
    public_type_names,
)
from switchboard.notifier.public_stream import in_stream_order, translate

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
CONV = uuid.uuid4()


def env(i: int = 0) -> dict:
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": T0 + timedelta(seconds=i),
        "practice_id": "demo",
        "correlation_id": uuid.uuid4(),
    }


def received(i: int = 0) -> MessageReceived:
    return MessageReceived(
        **env(i),
        message_id=uuid.uuid4(),
        conversation_id=CONV,
        channel="sms",
        sender="+12125550199",
        recipient="+12125550000",
        provider="twilio",
        provider_message_id="SM1",
        received_at=T0,
        body="private words",
        patient_id="pat-1",
        line_label="Front desk",
    )


# covers X-EVENTS-2
def test_a_new_conversations_first_message_announces_it_then_the_message_then_content() -> None:
    m = received()
    out = translate(m, new_conversation=True)
    assert [e.event_type for e in out] == [
        "public.conversation.created",
        "public.message.received",
        "public.message.content",
    ]
    assert [e.topic for e in out] == [
        Topic.PUBLIC_CONVERSATIONS,
        Topic.PUBLIC_CONVERSATIONS,
        Topic.PUBLIC_CONTENT,
    ]
    assert {e.partition_key() for e in out} == {f"demo:{CONV}"}  # one order per conversation
    assert all(e.causation_id == m.event_id and e.correlation_id == m.correlation_id for e in out)
    # patient content only in the content event
    public = json.dumps([e.model_dump(mode="json") for e in out[:2]])
    assert "private words" not in public and "+12125550199" not in public
    assert "pat-1" not in public
    assert out[2].body == "private words"  # type: ignore[attr-defined]
    assert [e.event_type for e in translate(m)] == [
        "public.message.received",
        "public.message.content",
    ]


def test_ids_are_derived_so_a_retranslation_repeats_them() -> None:
    m = received()
    first = translate(m, new_conversation=True)
    again = translate(m, new_conversation=True)
    assert [e.event_id for e in first] == [e.event_id for e in again]
    # `created` is one per conversation, whichever message claims it
    other = translate(received(5), new_conversation=True)
    assert other[0].event_id == first[0].event_id
    assert other[1].event_id != first[1].event_id
    assert len({e.event_id for e in first}) == 3


def test_each_internal_kind_maps_to_its_public_type() -> None:
    routed = MessageRouted(
        **env(1),
        message_id=uuid.uuid4(),
        conversation_id=CONV,
        patient_id="pat-1",
        reason="refills",
        reason_source="sticky",
        recipients=("u-1",),
        decided_at=T0,
    )
    (r,) = translate(routed)
    assert r.event_type == "public.conversation.routed" and r.reason == "refills"  # type: ignore[attr-defined]
    assert "pat-1" not in r.model_dump_json()
    (a,) = translate(ConversationAssigned(**env(2), conversation_id=CONV, actor="u-a"))
    assert a.event_type == "public.conversation.assigned" and a.assignee is None  # type: ignore[attr-defined]
    linked = translate(
        ConversationLinked(**env(3), conversation_id=CONV, actor="u-a", patient_id="pat-9")
    )
    assert [(e.event_type, e.topic) for e in linked] == [
        ("public.conversation.linked", Topic.PUBLIC_CONVERSATIONS),
        ("public.conversation.patient_linked", Topic.PUBLIC_CONTENT),
    ]
    assert "pat-9" not in linked[0].model_dump_json()
    reply = ReplyRequested(
        **env(4),
        conversation_id=CONV,
        actor="u-a",
        message_id=uuid.uuid4(),
        channel="sms",
        line="+12125550000",
        to="+12125550199",
        body="see you",
        requested_at=T0,
    )
    (c,) = translate(reply)
    assert c.topic == Topic.PUBLIC_CONTENT and c.direction == "outbound"  # type: ignore[attr-defined]
    failed = ReplyFailed(
        **env(5),
        conversation_id=CONV,
        message_id=reply.message_id,
        channel="sms",
        actor="u-a",
        why="provider_rejected",
        failed_at=T0,
    )
    (f,) = translate(failed)
    assert f.event_type == "public.reply.failed" and f.why == "provider_rejected"  # type: ignore[attr-defined]
    alert = AlertSent(
        **env(6),
        conversation_id=CONV,
        alert_id=uuid.uuid4(),
        staff_id="u-1",
        channel="in_app",
        kind="message",
        why="subscribed",
        link="/x",
        sent_at=T0,
    )
    assert translate(alert) == []


def test_a_poll_mixing_topics_is_put_in_the_order_things_happened() -> None:
    m = received(0)
    routed = MessageRouted(
        **env(1),
        message_id=m.message_id,
        conversation_id=CONV,
        reason="refills",
        reason_source="sticky",
        decided_at=T0,
    )
    assigned = ConversationAssigned(**env(2), conversation_id=CONV, actor="u-a")
    assert in_stream_order([assigned, routed, m]) == [m, routed, assigned]


# covers X-EVENTS-2
def test_the_public_topic_carries_no_patient_data_and_the_content_topic_is_flagged() -> None:
    registered = registered_events()
    for cls in PUBLIC_CONVERSATION_TYPES:
        assert phi_fields(cls) == [], cls
        assert cls.topic == Topic.PUBLIC_CONVERSATIONS
    for cls in PUBLIC_CONTENT_TYPES:
        assert phi_fields(cls), cls
        assert cls.topic == Topic.PUBLIC_CONTENT
    assert set(public_type_names()) <= set(registered)
