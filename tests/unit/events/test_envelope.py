import json
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from switchboard.events import MessageReceived, UnknownEventError, decode, deterministic_id, encode

NOW = datetime(2026, 6, 3, 16, 55, tzinfo=UTC)


def message(**overrides) -> MessageReceived:
    eid = deterministic_id("demo", "twilio", "SM1")
    fields = dict(
        event_id=eid,
        occurred_at=NOW,
        practice_id="demo",
        correlation_id=eid,
        message_id=eid,
        conversation_id=deterministic_id("demo", "sms", "+12125550000", "+12125550101"),
        channel="sms",
        sender="+12125550101",
        recipient="+12125550000",
        provider="twilio",
        provider_message_id="SM1",
        received_at=NOW,
        body="refill please",
    )
    return MessageReceived(**(fields | overrides))


def test_deterministic_ids_collapse_a_retried_webhook():
    assert deterministic_id("demo", "twilio", "SM1") == deterministic_id("demo", "twilio", "SM1")
    assert deterministic_id("demo", "twilio", "SM1") != deterministic_id("demo", "twilio", "SM2")
    assert deterministic_id("demo", "twilio", "SM1") != deterministic_id("other", "twilio", "SM1")


def test_round_trip_keeps_every_field():
    m = message()
    assert decode(encode(m)) == m


def test_partition_key_keeps_one_sender_in_order_within_practice():
    assert message().partition_key() == "demo:+12125550101"
    assert message(practice_id="other").partition_key() != message().partition_key()


def test_events_are_frozen():
    with pytest.raises(ValidationError):
        message().body = "changed"  # type: ignore[misc]


def test_unknown_type_newer_version_and_garbage_are_refused():
    data = json.loads(encode(message()))
    with pytest.raises(UnknownEventError, match="unknown event type"):
        decode({**data, "event_type": "Nope"})
    with pytest.raises(UnknownEventError, match="newer"):
        decode({**data, "version": 99})
    with pytest.raises(UnknownEventError, match="not JSON"):
        decode(b"\xff\xfe not json")
    with pytest.raises(ValidationError):
        decode({**data, "channel": "fax"})


def test_practice_id_must_be_a_slug():
    with pytest.raises(ValidationError):
        message(practice_id="Demo Practice")


def test_derive_links_cause_and_keeps_correlation():
    from switchboard.events import MessageRouted

    m = message(correlation_id=uuid.uuid4())
    r = MessageRouted.derive(
        m,
        event_id=deterministic_id(m.event_id, "router"),
        occurred_at=NOW,
        message_id=m.message_id,
        conversation_id=m.conversation_id,
        reason="other",
        reason_source="none",
        decided_at=NOW,
    )
    assert r.causation_id == m.event_id
    assert r.correlation_id == m.correlation_id
    assert r.inboxes == ("unassigned",)
