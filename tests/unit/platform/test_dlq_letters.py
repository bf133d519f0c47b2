"""The pure parts of switchboard-dlq: reading a dead-letter record, filtering, formatting.
What is shown without the audited flag never includes the record's key or value."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from switchboard.events.topics import REPLAY_TOPICS, Topic
from switchboard.platform.dlq.cli import parser
from switchboard.platform.dlq.letters import (
    DeadLetter,
    Filter,
    from_record,
    metadata,
    parse_id,
    parse_since,
    payload_text,
    replay_headers,
    select,
    table,
)
from switchboard.platform.kafka_access import ACCESS, TOOLS

NOW = datetime(2026, 12, 3, 21, 0, tzinfo=UTC)
EVENT_ID = uuid.uuid4()
SECRET = "Jane Doe +15551234567"  # stands for patient data


def record(
    consumer: str = "router",
    error: str = "ValueError: (message withheld)",
    source: str = "p.switchboard.pm/2/40",
    failed_at: datetime = NOW,
    partition: int = 1,
    offset: int = 7,
    value: bytes | None = None,
) -> DeadLetter:
    value = (
        value
        if value is not None
        else json.dumps(
            {
                "event_type": "PatientUpserted",
                "version": 1,
                "event_id": str(EVENT_ID),
                "practice_id": "demo",
                "name": SECRET,
            }
        ).encode()
    )
    headers = [
        ("event_type", b"PatientUpserted"),
        ("event_id", str(EVENT_ID).encode()),
        ("traceparent", b"00-abc-def-01"),
        ("dlq.consumer", consumer.encode()),
        ("dlq.error", error.encode()),
        ("dlq.source", source.encode()),
        ("dlq.attempts", b"5"),
        ("dlq.failed_at", failed_at.isoformat().encode()),
        ("dlq.trace", b"handlers.py:10:apply"),
    ]
    return from_record(partition, offset, 0, SECRET.encode(), value, headers)


def test_a_record_is_read_from_its_dlq_headers_and_envelope() -> None:
    d = record()
    assert (d.id, d.consumer, d.attempts, d.failed_at) == ("1:7", "router", 5, NOW)
    assert (d.event_type, d.event_id, d.practice_id) == ("PatientUpserted", EVENT_ID, "demo")
    assert d.source_topic == "p.switchboard.pm"


def test_a_record_that_was_not_an_event_still_reads() -> None:
    d = from_record(0, 3, 1_764_000_000_000, None, b"not json", [("dlq.consumer", b"notifier")])
    assert (d.consumer, d.event_id, d.event_type, d.attempts) == ("notifier", None, None, None)
    assert d.failed_at == datetime.fromtimestamp(1_764_000_000, UTC)  # the record's time
    assert payload_text(d) == "not json"


def test_nothing_shown_without_the_flag_holds_the_key_or_value() -> None:
    d = record()
    shown = json.dumps(metadata(d, replays=1)) + table([d], {"1:7": 1}, "p.") + repr(d)
    assert "Jane" not in shown and "5551234567" not in shown
    assert SECRET in payload_text(d)  # only the audited path prints it


def test_the_table_has_consumer_reason_time_and_topic_without_prefix() -> None:
    lines = table([record()], {}, "p.").splitlines()
    assert lines[0].split()[:4] == ["ID", "FAILED", "AT", "(UTC)"] and lines[0].endswith("REASON")
    row = lines[1]
    for part in ("1:7", "2026-12-03 21:00:00", "router", "switchboard.pm", "no"):
        assert f" {part} " in f" {row} "
    assert row.endswith("ValueError: (message withheld)")
    assert lines[-1] == "1 dead letter(s)"


def test_filters_by_consumer_reason_time_topic_and_id() -> None:
    old = record(consumer="notifier", failed_at=NOW - timedelta(days=3), offset=1)
    new = record(error="IntegrityError: duplicate", source="p.switchboard.routing/0/9", offset=2)
    letters = [new, old]
    assert select(letters, Filter()) == [old, new]  # oldest first
    assert select(letters, Filter(consumers=frozenset({"notifier"}))) == [old]
    assert select(letters, Filter(reason="integrity")) == [new]
    assert select(letters, Filter(since=NOW - timedelta(hours=1))) == [new]
    assert select(letters, Filter(topics=frozenset({"switchboard.routing"})), "p.") == [new]
    assert select(letters, Filter(topics=frozenset({"p.switchboard.pm"})), "p.") == [old]
    assert select(letters, Filter(ids=frozenset({"1:1"}))) == [old]
    assert Filter().empty and not Filter(reason="x").empty


def test_since_takes_durations_and_iso_times() -> None:
    assert parse_since("2h", NOW) == NOW - timedelta(hours=2)
    assert parse_since("3d", NOW) == NOW - timedelta(days=3)
    assert parse_since("2026-12-01T08:00", NOW) == datetime(2026, 12, 1, 8, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_since("yesterday", NOW)


def test_ids_are_partition_and_offset() -> None:
    assert parse_id(" 3:17 ") == (3, 17)
    for bad in ("3", "a:b", "3:17:1", ""):
        with pytest.raises(ValueError):
            parse_id(bad)


def test_a_replay_keeps_the_original_headers_and_names_its_dead_letter() -> None:
    headers = dict(replay_headers(record()))
    assert headers["event_id"] == str(EVENT_ID).encode()
    assert headers["traceparent"] == b"00-abc-def-01"
    assert headers["dlq.replay_of"] == b"1:7"
    assert not [k for k in headers if k.startswith("dlq.") and k != "dlq.replay_of"]


def test_showing_the_payload_needs_the_flag_spelled_out() -> None:
    args = parser().parse_args(["show", "1:7"])
    assert not args.with_patient_data
    args = parser().parse_args(["show", "1:7", "--with-patient-data", "--why", "T-1"])
    assert args.with_patient_data and args.why == "T-1"


def test_every_consumer_group_has_a_replay_topic_only_it_reads() -> None:
    groups = {g for a in ACCESS for g in a.groups}
    assert set(REPLAY_TOPICS) == groups
    for access in ACCESS:
        replays = {t for t in access.reads if t in REPLAY_TOPICS.values()}
        assert replays == {REPLAY_TOPICS[g] for g in access.groups}
    [dlq] = TOOLS
    assert set(dlq.writes) == {Topic.OPERATIONS, *REPLAY_TOPICS.values()}
    assert Topic.DEAD_LETTER in dlq.reads
