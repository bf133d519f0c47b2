"""CloudEvents attributes of an event (issue 16): ids and types, never patient data."""

from __future__ import annotations

from datetime import UTC, datetime

from switchboard.events import LocationUpserted, MessageReceived, deterministic_id
from switchboard.events.cloud_events import attributes, kafka_headers

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


def test_a_message_is_a_cloudevent_about_its_conversation():
    m = message()
    assert attributes(m, "ingest") == {
        "specversion": "1.0",
        "id": str(m.event_id),
        "source": "/switchboard/ingest/demo",
        "type": "com.switchboard.MessageReceived.v1",
        "time": "2026-06-03T16:55:00+00:00",
        "dataschema": "urn:switchboard:event:MessageReceived:v1",
        "subject": str(m.conversation_id),
    }


def test_headers_carry_no_patient_data_and_name_the_content_type():
    m = message(body="Quillon's refill", subject="Zephyrine")
    headers = dict(kafka_headers(m, "ingest"))
    assert headers["content-type"] == b"application/json"
    text = b" ".join(headers.values()).decode()
    for mark in ("Quillon", "Zephyrine", "5550101", m.sender, m.recipient):
        assert mark not in text


def test_an_event_about_no_conversation_or_message_has_no_subject():
    eid = deterministic_id("demo", "loc")
    loc = LocationUpserted(
        event_id=eid,
        occurred_at=NOW,
        practice_id="demo",
        correlation_id=eid,
        location_id="main",
        name="Main",
    )
    assert "subject" not in attributes(loc, "pm-sync")


def test_consumers_read_tolerantly_but_producers_construct_strictly():
    """docs/events.md: a newer producer may add optional fields within a version; this code
    reads such an event and ignores what it does not know (top level and nested)."""
    import json

    import pytest
    from pydantic import ValidationError

    from switchboard.events import decode, encode

    attachment = {"attachment_id": "a1", "content_type": "image/png", "size_bytes": 3, "ref": "k"}
    data = json.loads(encode(message(attachments=(attachment,))))
    data["added_later"] = "x"
    data["attachments"][0]["also_added"] = 1
    read = decode(json.dumps(data))
    assert read == message(attachments=(attachment,))
    with pytest.raises(ValidationError):
        message(added_later="x")
