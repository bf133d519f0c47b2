"""Committed JSON Schemas are the published contract: the code may only evolve compatibly
(docs/events.md).

Two checks: the current models against the committed schemas (libs/events/schemas/, kept up
to date by `make schemas`), and against the RELEASED ones (libs/events/schemas/released/, only
written when a release is cut): regenerating the schemas cannot hide a breaking change.

If this fails after a model change: either make the change compatible (optional fields only),
or add a new version with an upcaster. Then run `make schemas` and commit the files."""

import contextlib
import json

import pytest

from switchboard.events import registered_events
from switchboard.events.schemas import (
    SCHEMA_DIR,
    export,
    incompatibilities,
    release,
    release_problems,
    schema_filename,
    schema_for,
)


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


def test_no_breaking_change_since_the_released_schemas():
    assert release_problems() == [], (
        "a released event changed incompatibly: make it compatible, or bump its version and "
        "register an upcaster (docs/events.md)"
    )


@contextlib.contextmanager
def _registry_as_is():
    from switchboard.events import registry as reg

    saved = dict(reg._latest), dict(reg._upcasters)
    try:
        yield reg
    finally:
        reg._latest.clear(), reg._latest.update(saved[0])
        reg._upcasters.clear(), reg._upcasters.update(saved[1])


def _probe(version: int, **fields):
    """A `ReleaseProbe` event class of this version with these payload fields."""
    from typing import Literal

    from pydantic import create_model

    from switchboard.events import Event

    model = create_model(
        "ReleaseProbe",
        __base__=Event,
        event_type=(Literal["ReleaseProbe"], "ReleaseProbe"),
        version=(Literal[version], version),  # type: ignore[valid-type]
        **fields,
    )
    model.topic = "switchboard.config"
    return model


def test_a_breaking_change_fails_unless_the_version_is_bumped_with_an_upcaster(tmp_path):
    released = tmp_path / "released"
    with _registry_as_is() as reg:
        reg.register(_probe(1, name=(str, ...), note=(str | None, None)))
        release(tmp_path / "current", released)
        assert release_problems(released) == []

        # v1 -> v1 with a field renamed, a type changed and a new required field: refused
        reg._latest["ReleaseProbe"] = _probe(1, label=(str, ...), note=(int | None, None))
        problems = release_problems(released)
        assert "ReleaseProbe v1/name: property removed" in problems
        assert "ReleaseProbe v1/label: new required property" in problems
        assert any(p.startswith("ReleaseProbe v1/note: accepted variant removed") for p in problems)

        # the same change as v2: refused until an upcaster reads v1...
        reg.register(_probe(2, label=(str, ...), note=(int | None, None)))
        assert release_problems(released) == ["ReleaseProbe: v1 -> v2 has no upcaster"]

        # ...then accepted, and a released v1 event is read as v2
        reg.upcaster("ReleaseProbe", 1)(
            lambda d: (
                {k: v for k, v in d.items() if k not in ("name", "note")} | {"label": d["name"]}
            )
        )
        assert release_problems(released) == []
        v1 = {
            "event_type": "ReleaseProbe",
            "version": 1,
            "event_id": "6f1c9a52-3b7e-4c8e-9d65-2a8f0e4b7c11",
            "occurred_at": "2026-06-03T16:55:00Z",
            "practice_id": "demo",
            "correlation_id": "6f1c9a52-3b7e-4c8e-9d65-2a8f0e4b7c11",
            "name": "old",
            "note": "text",
        }
        assert reg.decode(v1).label == "old"

        # removing a released event type is breaking too
        del reg._latest["ReleaseProbe"]
        assert release_problems(released) == ["ReleaseProbe: released v1, no longer registered"]


def test_published_schemas_accept_additions_and_describe_every_property():
    schema = schema_for("MessageReceived")
    assert "additionalProperties" not in json.dumps(schema)
    assert schema["properties"]["body"]["description"].endswith("(patient data).")
    closed = _schema({"a": {"type": "string"}}) | {"additionalProperties": False}
    assert incompatibilities(_schema({"a": {"type": "string"}}), closed) == [
        "/: closed to additional properties"
    ]


def test_export_writes_one_file_per_event(tmp_path):
    written = export(tmp_path)
    assert {p.name for p in written} == {schema_filename(e) for e in registered_events()}
