"""Event encode and decode, CPU microseconds per event, in process (issue 17: decode and
encode once).

    uv run --frozen python bench/codec_bench.py [--count 20000]

Decode: the consumers' former path (`decode`: json.loads to a dict, then pydantic's
validation of the dict) against `decode_record` (pydantic parses the record's bytes
directly, the class named by the record's headers). Encode: the former
`model_dump_json().encode()` against `encode` (pydantic-core's serializer straight to
bytes). CPU time (time.process_time), best of `--repeat` runs, so a busy machine shows
less in it than in wall-clock figures.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime

from switchboard.events import (
    Event,
    MessageReceived,
    decode,
    decode_record,
    deterministic_id,
    encode,
)
from switchboard.platform.kafka import record_headers

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def received(i: int) -> MessageReceived:
    eid = deterministic_id("demo", "twilio", f"SM{i}")
    return MessageReceived(
        event_id=eid,
        occurred_at=NOW,
        practice_id="demo",
        correlation_id=eid,
        message_id=eid,
        conversation_id=deterministic_id("demo", "sms", "+12125550000", f"+1212555{i:04d}"),
        channel="sms",
        sender=f"+1212555{i:04d}",
        recipient="+12125550000",
        provider="twilio",
        provider_message_id=f"SM{i}",
        received_at=NOW,
        body="Hello, I need a refill of my blood pressure medication before Friday, thanks",
    )


def cpu_us(fn: Callable[[], None], count: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        fn()
        best = min(best, time.process_time() - started)
    return best / count * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    events: list[Event] = [received(i) for i in range(args.count)]
    records = [(encode(e), record_headers(e)) for e in events]
    n = len(events)

    def old_decode() -> None:
        for value, _ in records:
            decode(value)

    def new_decode() -> None:
        for value, headers in records:
            decode_record(value, headers)

    def old_encode() -> None:
        for e in events:
            e.model_dump_json().encode()

    def new_encode() -> None:
        for e in events:
            encode(e)

    for value, headers in records[:100]:
        assert decode_record(value, headers) == decode(value)
    rows = [
        ("decode: json.loads + model_validate", cpu_us(old_decode, n, args.repeat)),
        ("decode_record: model_validate_json", cpu_us(new_decode, n, args.repeat)),
        ("encode: model_dump_json().encode()", cpu_us(old_encode, n, args.repeat)),
        ("encode: serializer to_json (bytes)", cpu_us(new_encode, n, args.repeat)),
    ]
    print(f"{n} MessageReceived events (an SMS of 77 characters), best of {args.repeat}")
    print("| path | CPU µs per event |\n|---|---:|")
    for name, us in rows:
        print(f"| {name} | {us:.1f} |")


if __name__ == "__main__":
    main()
