"""Committed JSON Schemas are the published contract: the code may only evolve compatibly.

If this fails after a model change: either make the change compatible (optional fields only),
or add a new version with an upcaster. Then run `make schemas` and commit the files."""

import json

import pytest

from switchboard.events import registered_events
from switchboard.events.schemas import SCHEMA_DIR, incompatibilities, schema_filename, schema_for


@pytest.mark.parametrize("event_type", sorted(registered_events()))
def test_current_model_is_compatible_with_committed_schema(event_type):
    path = SCHEMA_DIR / schema_filename(event_type)
    assert path.exists(), f"{path.name} is not committed: run `make schemas`"
    committed = json.loads(path.read_text())
    assert incompatibilities(committed, schema_for(event_type)) == []


@pytest.mark.parametrize("event_type", sorted(registered_events()))
def test_committed_schema_is_up_to_date(event_type):
    committed = json.loads((SCHEMA_DIR / schema_filename(event_type)).read_text())
    assert committed == json.loads(json.dumps(schema_for(event_type), sort_keys=True)), (
        "compatible change not exported: run `make schemas` and commit"
    )


def _schema(props, required=()):
    return {"type": "object", "properties": props, "required": list(required)}


def test_checker_refuses_removed_property():
    old = _schema({"a": {"type": "string"}, "b": {"type": "string"}})
    assert incompatibilities(old, _schema({"a": {"type": "string"}})) == ["/b: property removed"]


def test_checker_refuses_changed_type_and_new_required():
    old = _schema({"a": {"type": "string"}})
    new = _schema({"a": {"type": "integer"}, "c": {"type": "string"}}, required=["c"])
    problems = incompatibilities(old, new)
    assert "/a: type string -> integer" in problems
    assert "/c: new required property" in problems


def test_checker_refuses_removed_enum_value_but_allows_added_optional_field():
    old = _schema({"channel": {"enum": ["sms", "email"], "type": "string"}})
    assert incompatibilities(old, _schema({"channel": {"enum": ["sms"], "type": "string"}}))
    grown = _schema(
        {"channel": {"enum": ["sms", "email", "fax"], "type": "string"}, "x": {"type": "string"}}
    )
    assert incompatibilities(old, grown) == []


def test_upcaster_brings_an_old_version_to_the_current_model():
    from typing import Literal

    from switchboard.events import Event
    from switchboard.events import registry as reg

    class Probe(Event):
        topic = "switchboard.config"
        event_type: Literal["ContractProbe"] = "ContractProbe"
        version: Literal[2] = 2
        label: str

    saved = dict(reg._latest), dict(reg._upcasters)
    try:
        reg.register(Probe)
        reg.upcaster("ContractProbe", 1)(
            lambda d: {k: v for k, v in d.items() if k != "name"} | {"label": d["name"]}
        )
        v1 = {
            "event_type": "ContractProbe",
            "version": 1,
            "event_id": "6f1c9a52-3b7e-4c8e-9d65-2a8f0e4b7c11",
            "occurred_at": "2026-06-03T16:55:00Z",
            "practice_id": "demo",
            "correlation_id": "6f1c9a52-3b7e-4c8e-9d65-2a8f0e4b7c11",
            "name": "old field name",
        }
        event = reg.decode(v1)
        assert isinstance(event, Probe) and event.label == "old field name" and event.version == 2
    finally:
        reg._latest.clear(), reg._latest.update(saved[0])
        reg._upcasters.clear(), reg._upcasters.update(saved[1])
