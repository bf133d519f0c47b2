"""decode_record: a Kafka record's event parsed once, straight from its bytes, with the same
answers as the full decode (issue 17: decode once)."""

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from switchboard.events import (
    ConversationStatusChanged,
    MessageReceived,
    UnknownEventError,
    decode,
    decode_record,
    deterministic_id,
    encode,
)
from switchboard.platform.kafka import record_headers

NOW = datetime(2026, 6, 3, 16, 55, tzinfo=UTC)


def message() -> MessageReceived:
    eid = deterministic_id("demo", "twilio", "SM1")
    return MessageReceived(
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


def headers_of(event) -> list[tuple[str, bytes]]:
    return record_headers(event)


def test_a_record_decodes_to_the_event_it_was_made_of_with_or_without_headers():
    m = message()
    assert decode_record(encode(m), headers_of(m)) == m
    assert decode_record(encode(m), None) == m
    assert decode_record(encode(m), []) == decode(encode(m))


def test_fields_a_newer_producer_added_are_ignored_as_the_full_decode_does():
    m = message()
    body = json.dumps({**json.loads(encode(m)), "added_later": 1}).encode()
    assert decode_record(body, headers_of(m)) == m


def test_headers_that_name_another_type_do_not_decide_the_event():
    m = message()
    other = ConversationStatusChanged(
        event_id=deterministic_id("x"),
        occurred_at=NOW,
        practice_id="demo",
        correlation_id=m.correlation_id,
        conversation_id=m.conversation_id,
        status="closed",
        actor="staff:1",
    )
    # the body is the message; the headers (wrongly) say ConversationStatusChanged
    assert decode_record(encode(m), headers_of(other)) == m
    # a version header this code does not have as current: the body's own version decides
    wrong = [(k, b"7" if k == "version" else v) for k, v in headers_of(m)]
    assert decode_record(encode(m), wrong) == m


def test_bad_records_are_refused_as_the_full_decode_refuses_them():
    m = message()
    with pytest.raises(UnknownEventError, match="not JSON"):
        decode_record(b"\xff not json", headers_of(m))
    incomplete = json.loads(encode(m))
    del incomplete["sender"]
    with pytest.raises(ValidationError):
        decode_record(json.dumps(incomplete).encode(), headers_of(m))
