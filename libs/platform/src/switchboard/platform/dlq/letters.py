"""Dead letters as an operator sees them: parsed from the dead-letter topic's records,
filtered and formatted. Pure: no I/O here (kafka_io.py reads and writes).

Everything shown by default comes from the `dlq.*` headers the consumers write (no patient
data) and the envelope's ids. The record's key (a sender's address) and value (the event)
are kept only to be replayed, or shown with the audited flag.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

_PRACTICE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# Non-dlq headers worth showing: ids and types, never content.
SHOWN_HEADERS = ("event_type", "version", "event_id", "practice_id", "fhir.resource")


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    consumer: str
    error: str
    source: str  # "<topic>/<partition>/<offset>" the record failed on
    attempts: int | None
    failed_at: datetime
    trace: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    event_type: str | None = None
    event_id: uuid.UUID | None = None
    practice_id: str | None = None
    # Patient data: only replayed, or printed by `show --with-patient-data`.
    key: bytes | None = field(default=None, repr=False)
    value: bytes | None = field(default=None, repr=False)
    raw_headers: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)

    @property
    def id(self) -> str:
        return dead_letter_id(self.partition, self.offset)

    @property
    def source_topic(self) -> str:
        return self.source.rsplit("/", 2)[0] if self.source.count("/") >= 2 else self.source


def dead_letter_id(partition: int, offset: int) -> str:
    return f"{partition}:{offset}"


def parse_id(text: str) -> tuple[int, int]:
    """ "3:17" -> (3, 17): partition and offset on the dead-letter topic."""
    match = re.fullmatch(r"\s*(\d+):(\d+)\s*", text)
    if not match:
        raise ValueError(f"not a dead letter id (partition:offset): {text!r}")
    return int(match[1]), int(match[2])


def _text(value: bytes | None) -> str:
    return value.decode("utf-8", "replace") if value is not None else ""


def from_record(
    partition: int,
    offset: int,
    timestamp_ms: int,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]] | None,
) -> DeadLetter:
    """A dead-letter topic record -> DeadLetter. The envelope's ids are read from the
    payload when the headers lack them (a record that was not an event has none)."""
    hdr = {k: _text(v) for k, v in headers or ()}
    envelope = _envelope(value)
    try:
        attempts: int | None = int(hdr["dlq.attempts"])
    except (KeyError, ValueError):
        attempts = None
    event_id = _uuid(hdr.get("event_id")) or _uuid(envelope.get("event_id"))
    practice = hdr.get("practice_id") or envelope.get("practice_id")
    return DeadLetter(
        partition=partition,
        offset=offset,
        consumer=hdr.get("dlq.consumer", "?"),
        error=hdr.get("dlq.error", ""),
        source=hdr.get("dlq.source", ""),
        attempts=attempts,
        failed_at=_when(hdr.get("dlq.failed_at"), timestamp_ms),
        trace=hdr.get("dlq.trace", ""),
        headers={k: hdr[k] for k in SHOWN_HEADERS if k in hdr},
        event_type=hdr.get("event_type") or _str(envelope.get("event_type")),
        event_id=event_id,
        practice_id=practice if isinstance(practice, str) and _PRACTICE.match(practice) else None,
        key=key,
        value=value,
        raw_headers=tuple(headers or ()),
    )


def _envelope(value: bytes | None) -> dict[str, Any]:
    try:
        data = json.loads(value) if value else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and len(value) <= 128 else None


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _when(header: str | None, timestamp_ms: int) -> datetime:
    if header:
        try:
            parsed = datetime.fromisoformat(header)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC)


def parse_since(text: str, now: datetime) -> datetime:
    """ "2h", "3d", "30m", "1w" before `now`, or an ISO 8601 time (UTC when no offset)."""
    match = _DURATION.fullmatch(text.strip())
    if match:
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--since: not a duration (2h, 3d) nor an ISO time: {text!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Filter:
    consumers: frozenset[str] = frozenset()
    reason: str | None = None  # a case-insensitive part of the error
    since: datetime | None = None
    topics: frozenset[str] = frozenset()  # logical or prefixed source topics
    ids: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not (self.consumers or self.reason or self.since or self.topics or self.ids)

    def matches(self, letter: DeadLetter, topic_prefix: str = "") -> bool:
        if self.ids and letter.id not in self.ids:
            return False
        if self.consumers and letter.consumer not in self.consumers:
            return False
        if self.reason and self.reason.casefold() not in letter.error.casefold():
            return False
        if self.since and letter.failed_at < self.since:
            return False
        if self.topics:
            source = letter.source_topic
            logical = source.removeprefix(topic_prefix) if topic_prefix else source
            if not ({source, logical} & self.topics):
                return False
        return True


def select(letters: Iterable[DeadLetter], flt: Filter, topic_prefix: str = "") -> list[DeadLetter]:
    """The matching dead letters, oldest failure first."""
    return sorted(
        (d for d in letters if flt.matches(d, topic_prefix)),
        key=lambda d: (d.failed_at, d.partition, d.offset),
    )


def _one_line(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(letters: Sequence[DeadLetter], replays: Mapping[str, int], topic_prefix: str) -> str:
    """The `list` output: one line per dead letter, reason last (it is the longest)."""
    head = ("ID", "FAILED AT (UTC)", "CONSUMER", "TOPIC", "EVENT TYPE", "TRIES", "REPLAYED")
    rows = [
        (
            d.id,
            d.failed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            d.consumer,
            d.source_topic.removeprefix(topic_prefix) if topic_prefix else d.source_topic,
            d.event_type or "-",
            "-" if d.attempts is None else str(d.attempts),
            str(replays.get(d.id, 0)) if replays.get(d.id) else "no",
            _one_line(d.error, 100),
        )
        for d in letters
    ]
    widths = [max([len(head[i]), *(len(r[i]) for r in rows)]) for i in range(len(head))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + "  REASON"]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1]
        for r in rows
    ]
    lines.append(f"{len(rows)} dead letter(s)")
    return "\n".join(lines)


def metadata(letter: DeadLetter, replays: int = 0) -> dict[str, Any]:
    """Everything `show` prints without the flag: no key, no value."""
    return {
        "id": letter.id,
        "consumer": letter.consumer,
        "failed_at": letter.failed_at.isoformat(),
        "source": letter.source,
        "attempts": letter.attempts,
        "error": letter.error,
        "event_type": letter.event_type,
        "event_id": str(letter.event_id) if letter.event_id else None,
        "practice_id": letter.practice_id,
        "headers": dict(letter.headers),
        "payload_bytes": len(letter.value or b""),
        "replayed": replays,
        "trace": letter.trace.splitlines(),
    }


def payload_text(letter: DeadLetter) -> str:
    """The record's value, indented when it is JSON. Patient data: callers audit first."""
    if letter.value is None:
        return "(no payload)"
    try:
        return json.dumps(json.loads(letter.value), indent=2, ensure_ascii=False)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _text(letter.value)


def replay_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    """The original record's headers (trace, ids) without the dead-letter ones, plus which
    dead letter this replay comes from."""
    kept = [(k, v) for k, v in letter.raw_headers if not k.startswith("dlq.")]
    return [*kept, ("dlq.replay_of", letter.id.encode())]
