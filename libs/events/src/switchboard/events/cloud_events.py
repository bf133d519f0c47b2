"""CloudEvents 1.0 attributes of an event, for the Kafka protocol binding (binary mode).

Pure: the `ce_*` headers every record the platform publishes carries beside the JSON value,
so a subscriber can read it with any CloudEvents SDK (`from_binary`). The value stays the
event's own JSON (the binding's `data`); the envelope's `event_type`/`version`/`event_id`
headers stay too (the consumers and the dead-letter tool read them).

The attributes carry ids and types, never patient data (they are headers: logged, shown by
the dead-letter tool, kept on replay):
- `ce_id`: the envelope's `event_id` (deterministic: a retry or replay keeps it).
- `ce_source`: `/switchboard/<service>/<practice_id>`: who produced it, for which practice.
  `ce_source` + `ce_id` is unique, as CloudEvents requires.
- `ce_type`: `com.switchboard.<EventType>.v<version>`: the schema's major version is in the
  type, so a breaking change is a new type (docs/events.md).
- `ce_subject`: the conversation id, else the message id, else none (an id, never an address).
- `ce_time`: the envelope's `occurred_at`, RFC 3339.
- `ce_dataschema`: the `$id` of the event's published JSON Schema.
"""

from __future__ import annotations

from switchboard.events.envelope import Event

SPECVERSION = "1.0"
TYPE_PREFIX = "com.switchboard."
CONTENT_TYPE = "application/json"
# Envelope fields that name what an event is about; the first one present is the subject.
SUBJECT_FIELDS = ("conversation_id", "message_id")


def ce_type(event_type: str, version: int) -> str:
    return f"{TYPE_PREFIX}{event_type}.v{version}"


def ce_source(service: str, practice_id: str) -> str:
    return f"/switchboard/{service}/{practice_id}"


def dataschema(event_type: str, version: int) -> str:
    """The `$id` the published JSON Schema of this event carries (schemas.schema_for)."""
    return f"urn:switchboard:event:{event_type}:v{version}"


def subject(event: Event) -> str | None:
    for name in SUBJECT_FIELDS:
        value = getattr(event, name, None)
        if value is not None:
            return str(value)
    return None


def attributes(event: Event, service: str) -> dict[str, str]:
    """The CloudEvents context attributes of `event` as produced by `service`."""
    attrs = {
        "specversion": SPECVERSION,
        "id": str(event.event_id),
        "source": ce_source(service, event.practice_id),
        "type": ce_type(event.event_type, event.version),
        "time": event.occurred_at.isoformat(),
        "dataschema": dataschema(event.event_type, event.version),
    }
    about = subject(event)
    if about is not None:
        attrs["subject"] = about
    return attrs


def kafka_headers(event: Event, service: str) -> list[tuple[str, bytes]]:
    """Binary-mode Kafka headers: `ce_<attribute>` each, and `content-type` (the
    binding maps `datacontenttype` to it)."""
    return [
        *((f"ce_{k}", v.encode()) for k, v in attributes(event, service).items()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
