"""The AsyncAPI 3.0 document of every topic, generated from the registry and topics.py.

Pure: builds a dict; `python -m switchboard.events.asyncapi` (or `make schemas`) writes it as
YAML to libs/events/asyncapi.yaml; the gateway serves the same text at GET /asyncapi.yaml.
tests/contract/test_asyncapi.py fails when the committed file differs from what this builds,
and validates it with the official parser (@asyncapi/parser).

The document is written from the platform's side (operations are `send`: Switchboard
publishes; a subscriber receives). Each message: the payload schema (the published JSON
Schema, definitions hoisted to components/schemas), the Kafka key, the headers (envelope ids,
CloudEvents binary mode, trace context), an example built from the model, and `x-phi` (with
the tag `phi`) when it carries patient data or patient identifiers.

Its size: one document, built section by section (channels, messages, headers, examples).
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from switchboard.events import cloud_events
from switchboard.events.envelope import Event
from switchboard.events.registry import registered_events
from switchboard.events.schemas import schema_for
from switchboard.events.topics import REPLAY_TOPICS, TOPIC_SPECS, Topic

DOCUMENT_PATH = Path(__file__).resolve().parents[3] / "asyncapi.yaml"
BINDING_VERSION = "0.5.0"
EXAMPLE_TIME = datetime(2026, 6, 3, 16, 55, tzinfo=UTC)
EXAMPLE_ID = uuid.UUID("6f1c9a52-3b7e-4c8e-9d65-2a8f0e4b7c11")

INFO_DESCRIPTION = """\
Switchboard's event log: every topic, the events each carries, their keys and headers.

Every record is a CloudEvent in Kafka binary mode (`ce_*` headers, `content-type`); its value
is the event as JSON. Event types carry their major version (`ce_type`
`com.switchboard.<Event>.v<N>`); within a version the schema only grows (new optional fields),
so read tolerantly: ignore fields you do not know. See docs/events.md (compatibility policy)
and docs/subscribers.md.

Messages marked `x-phi: true` (tag `phi`) carry patient data or patient identifiers: only
consumers entitled to them may be granted read access to their topics."""


def _channel_id(topic: Topic) -> str:
    return topic.value.removeprefix("switchboard.").replace(".", "-")


def _kafka_topic_binding(topic: Topic) -> dict[str, Any]:
    spec = TOPIC_SPECS[topic]
    return {
        "kafka": {
            "topic": topic.value,
            "partitions": spec.partitions,
            "topicConfiguration": {
                "cleanup.policy": [spec.cleanup_policy],
                "retention.ms": spec.retention_ms,
            },
            "bindingVersion": BINDING_VERSION,
        }
    }


# --- payload schemas ---------------------------------------------------------------------


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (
                v.replace("#/$defs/", "#/components/schemas/")
                if k == "$ref" and isinstance(v, str)
                else _rewrite_refs(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


def _payload_schemas() -> dict[str, Any]:
    """Every event's published JSON Schema, named `<Event>`, with the nested definitions
    hoisted beside them (one definition per name: two events sharing a nested model share it)."""
    schemas: dict[str, Any] = {}
    for event_type in sorted(registered_events()):
        schema = schema_for(event_type)
        for name, definition in schema.pop("$defs", {}).items():
            definition = _rewrite_refs(definition)
            if name in schemas and schemas[name] != definition:
                raise ValueError(f"two different nested models are both named {name}")
            schemas[name] = definition
        schema.pop("$id", None)
        schemas[event_type] = _rewrite_refs(schema)
    return dict(sorted(schemas.items()))


# --- examples ------------------------------------------------------------------------------


def _example_value(name: str, schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    if "examples" in schema:
        return schema["examples"][0]
    if "$ref" in schema:
        return _example_object(defs[schema["$ref"].split("/")[-1]], defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        first = next(s for s in schema["anyOf"] if s.get("type") != "null")
        return _example_value(name, first, defs)
    kind = schema.get("type")
    fmt = schema.get("format")
    if kind == "string":
        if fmt == "uuid":
            return str(uuid.uuid5(EXAMPLE_ID, name))
        if fmt == "date-time":
            return EXAMPLE_TIME.isoformat().replace("+00:00", "Z")
        if fmt == "date":
            return EXAMPLE_TIME.date().isoformat()
        if name == "practice_id":
            return "demo"
        return f"{name}_1"
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return max(1.0, schema.get("minimum", 1.0))
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return _example_object(schema, defs) if "properties" in schema else {}
    return None


def _example_object(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    props = schema.get("properties", {})
    return {
        name: _example_value(name, sub, defs)
        for name, sub in props.items()
        if name in schema.get("required", ()) or "examples" in sub
    }


def example_event(event_type: str) -> Event:
    """A valid instance of the event, from its schema's required fields (and any field that
    names examples), validated by the model."""
    cls = registered_events()[event_type]
    schema = cls.model_json_schema(mode="validation")
    data = _example_object(schema, schema.get("$defs", {}))
    data |= {
        "event_id": str(EXAMPLE_ID),
        "correlation_id": str(EXAMPLE_ID),
        "occurred_at": "2026-06-03T16:55:00Z",
        "practice_id": "demo",
    }
    return cls.model_validate(data)


def _placeholder(cls: type[BaseModel]) -> Any:
    """An unvalidated instance whose fields are `<name>`: partition_key() then spells out
    what the key is made of."""
    values: dict[str, Any] = {}
    for name, field in cls.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            values[name] = _placeholder(annotation)
        else:
            values[name] = f"<{name}>"
    return cls.model_construct(**values)


def key_template(cls: type[Event]) -> str:
    return str(_placeholder(cls).partition_key())


# --- messages ------------------------------------------------------------------------------


def carries_phi(cls: type[Event]) -> bool:
    return bool(phi_fields(cls))


def phi_fields(cls: type[Event]) -> list[str]:
    """Fields holding patient data or patient identifiers: the model's own list, plus any
    patient id field (a patient's id in the practice's PM system identifies them)."""
    named = {n for n in cls.model_fields if n in ("patient_id", "matched_patient_ids")}
    return sorted(set(cls.phi_fields) | named)


def _headers_schema(cls: type[Event]) -> dict[str, Any]:
    event_type = cls.model_fields["event_type"].default
    version = cls.model_fields["version"].default

    def const(value: str, description: str) -> dict[str, Any]:
        return {"type": "string", "const": value, "description": description}

    def text(description: str, fmt: str | None = None) -> dict[str, Any]:
        return {"type": "string", "description": description} | ({"format": fmt} if fmt else {})

    properties = {
        "event_type": const(event_type, "The event's type (as in the payload)."),
        "version": const(str(version), "The event's schema version (as in the payload)."),
        "event_id": text(
            "The event's id (as in the payload); duplicates are redeliveries.", "uuid"
        ),
        "ce_specversion": const(cloud_events.SPECVERSION, "CloudEvents specification version."),
        "ce_id": text("CloudEvents id: the event's `event_id`.", "uuid"),
        "ce_source": text(
            "CloudEvents source: `/switchboard/<service>/<practice_id>`, the service that "
            "published the event and the practice it belongs to."
        ),
        "ce_type": const(
            cloud_events.ce_type(event_type, version),
            "CloudEvents type: `com.switchboard.<event_type>.v<version>`.",
        ),
        "ce_time": text("CloudEvents time: the event's `occurred_at` (RFC 3339).", "date-time"),
        "ce_subject": text(
            "CloudEvents subject: the conversation id, else the message id; absent when the "
            "event names neither. An id, never patient data."
        ),
        "ce_dataschema": const(
            cloud_events.dataschema(event_type, version),
            "CloudEvents dataschema: the `$id` of the payload's JSON Schema.",
        ),
        "content-type": const(
            cloud_events.CONTENT_TYPE, "The value is JSON (CloudEvents datacontenttype)."
        ),
        "traceparent": text("W3C trace context of the publishing span (optional)."),
        "tracestate": text("W3C trace state (optional)."),
    }
    required = [
        "event_type",
        "version",
        "event_id",
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_time",
        "ce_dataschema",
        "content-type",
    ]
    return {"type": "object", "properties": properties, "required": required}


def _message(event_type: str) -> dict[str, Any]:
    cls = registered_events()[event_type]
    example = example_event(event_type)
    doc = (cls.__doc__ or event_type).strip()
    phi = phi_fields(cls)
    key = key_template(cls)
    ce_example = cloud_events.attributes(example, "gateway")
    message: dict[str, Any] = {
        "name": event_type,
        "title": event_type,
        "summary": doc.split("\n\n")[0].replace("\n", " "),
        "contentType": cloud_events.CONTENT_TYPE,
        "headers": _headers_schema(cls),
        "payload": {"$ref": f"#/components/schemas/{event_type}"},
        "correlationId": {
            "description": "Events caused by the same outside input share a correlation id.",
            "location": "$message.payload#/correlation_id",
        },
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": f"`{key}`: the records of one key stay in order."
                    + (" Holds patient data." if "sender" in key else ""),
                },
                "bindingVersion": BINDING_VERSION,
            }
        },
        "x-phi": bool(phi),
        "examples": [
            {
                "name": f"{event_type}Example",
                "summary": f"A {event_type} (generated from the model).",
                "headers": {
                    "event_type": event_type,
                    "version": str(example.version),
                    "event_id": str(example.event_id),
                    **{f"ce_{k}": v for k, v in ce_example.items()},
                    "content-type": cloud_events.CONTENT_TYPE,
                },
                "payload": json.loads(example.model_dump_json()),
            }
        ],
    }
    if phi:
        message["x-phi-fields"] = phi
        message["tags"] = [{"name": "phi"}]
    return message


_DEAD_LETTER_HEADERS = {
    "type": "object",
    "description": "The original record's headers, plus the dead-letter ones (`dlq.*`).",
    "properties": {
        "dlq.consumer": {"type": "string", "description": "The consumer group that failed."},
        "dlq.error": {
            "type": "string",
            "description": "The error's type and a safe reason (never the values it quoted).",
        },
        "dlq.trace": {"type": "string", "description": "Frames as file:line:function."},
        "dlq.attempts": {"type": "string", "description": "How many times it was tried."},
        "dlq.source": {
            "type": "string",
            "description": "`<topic>/<partition>/<offset>` of the original record.",
        },
        "dlq.replay_of": {
            "type": "string",
            "description": "On a replay topic: the dead letter (`<partition>:<offset>`) re-driven.",
        },
    },
}


def _opaque(description: str) -> dict[str, Any]:
    return {
        "name": "DeadLetter",
        "title": "Dead letter",
        "summary": description,
        "headers": _DEAD_LETTER_HEADERS,
        "payload": {
            "description": "The original record's value, unchanged: usually an event of the "
            "source topic, possibly bytes that were not an event.",
        },
        "x-phi": True,
        "tags": [{"name": "phi"}],
    }


# --- the document --------------------------------------------------------------------------


def _events_by_topic() -> dict[Topic, list[str]]:
    by_topic: dict[Topic, list[str]] = {t: [] for t in TOPIC_SPECS}
    for event_type, cls in sorted(registered_events().items()):
        by_topic[Topic(cls.topic)].append(event_type)
    return by_topic


def _topic_description(topic: Topic) -> str:
    return TOPIC_SPECS[topic].why[0].upper() + TOPIC_SPECS[topic].why[1:] + "."


def build() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    replays = set(REPLAY_TOPICS.values())
    for topic, event_types in _events_by_topic().items():
        cid = _channel_id(topic)
        if topic is Topic.DEAD_LETTER or topic in replays:
            name = "DeadLetter"
            messages[name] = _opaque(
                "A record a consumer could not process, with the reason in its headers."
            )
            event_types = [name]
        else:
            for event_type in event_types:
                messages[event_type] = _message(event_type)
        channels[cid] = {
            "address": topic.value,
            "title": topic.value,
            "description": _topic_description(topic)
            + " A deployment may prefix the address (settings.topic_prefix).",
            "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in event_types},
            "bindings": _kafka_topic_binding(topic),
        }
        operations[f"publish-{cid}"] = {
            "action": "send",
            "summary": f"Switchboard publishes to {topic.value}.",
            "channel": {"$ref": f"#/channels/{cid}"},
            "messages": [{"$ref": f"#/channels/{cid}/messages/{m}"} for m in event_types],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Switchboard events",
            "version": "1.0.0",
            "description": INFO_DESCRIPTION,
            "tags": [
                {
                    "name": "phi",
                    "description": "Carries patient data or patient identifiers.",
                }
            ],
        },
        "defaultContentType": cloud_events.CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "127.0.0.1:19092",
                "protocol": "kafka",
                "description": "The broker `make up` starts; production brokers and ACLs are "
                "in the deployment (deploy/).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": _payload_schemas()},
    }


def render(document: dict[str, Any] | None = None) -> str:
    """The document as YAML, keys in the order built (the committed file is this text)."""
    import yaml  # only to render: building the document needs nothing but the models

    # libyaml's dumper (in PyYAML's wheels): 3x faster than the pure one, whose line breaks
    # differ slightly; the committed file is written with this one.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(
        build() if document is None else document,
        Dumper=dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )


if __name__ == "__main__":
    DOCUMENT_PATH.write_text(render())
    sys.stdout.write(f"wrote {DOCUMENT_PATH}\n")
