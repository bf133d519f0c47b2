"""JSON Schema export and the compatibility rule the contract tests enforce.

Run `python -m switchboard.events.schemas` to (re)write libs/events/schemas/ (the current
schemas), and `python -m switchboard.events.schemas --release` when a release is cut: it
copies them to libs/events/schemas/released/, the snapshot every later change is checked
against (`release_problems`, tests/contract/test_event_schemas.py; policy in docs/events.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from switchboard.events.cloud_events import dataschema
from switchboard.events.glossary import FIELD_DESCRIPTIONS
from switchboard.events.registry import has_upcaster, registered_events

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas"
RELEASED_DIR = SCHEMA_DIR / "released"


def schema_for(event_type: str) -> dict[str, Any]:
    """The published JSON Schema of the event's current version: every property described
    (the model's own description, else the glossary's), and open to additions (no
    `additionalProperties: false`: a consumer validating with it must accept the optional
    fields a later release adds; docs/events.md)."""
    cls = registered_events()[event_type]
    schema = _published(cls.model_json_schema(mode="serialization"))
    schema["$id"] = dataschema(event_type, cls.model_fields["version"].default)
    return schema


def _published(node: Any) -> Any:
    if isinstance(node, list):
        return [_published(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _published(v) for k, v in node.items() if k != "additionalProperties"}
    if node.get("additionalProperties") not in (None, False):  # a dict's value schema
        out["additionalProperties"] = _published(node["additionalProperties"])
    for name, prop in out.get("properties", {}).items():
        if "description" not in prop and name in FIELD_DESCRIPTIONS:
            prop["description"] = FIELD_DESCRIPTIONS[name]
    return out


def undescribed(schema: dict[str, Any]) -> list[str]:
    """Properties (of the event and its nested definitions) without a description."""
    missing = []
    for where, node in [("", schema), *schema.get("$defs", {}).items()]:
        for name, prop in node.get("properties", {}).items():
            if "description" not in prop:
                missing.append(f"{where}/{name}")
    return missing


def schema_filename(event_type: str) -> str:
    version = registered_events()[event_type].model_fields["version"].default
    return f"{event_type}.v{version}.json"


def export(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type in sorted(registered_events()):
        path = directory / schema_filename(event_type)
        path.write_text(json.dumps(schema_for(event_type), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return _resolve(root["$defs"][ref.split("/")[-1]], root)
    return schema


def incompatibilities(
    old: dict[str, Any], new: dict[str, Any], path: str = "", old_root=None, new_root=None
) -> list[str]:
    """Why a reader of `old` data would fail with `new` (or vice versa). Empty = compatible.

    Rules: no property removed, no type changed, no new required property, no enum value
    removed, no Literal changed, no union variant removed, no object closed to additional
    properties. Adding optional properties (and descriptions) is fine.
    """
    old_root = old_root or old
    new_root = new_root or new
    old = _resolve(old, old_root)
    new = _resolve(new, new_root)
    problems: list[str] = []
    if old.get("type") != new.get("type"):
        problems.append(f"{path or '/'}: type {old.get('type')} -> {new.get('type')}")
    if "const" in old and old.get("const") != new.get("const"):
        problems.append(f"{path}: const {old.get('const')!r} -> {new.get('const')!r}")
    if "enum" in old:
        removed = set(old["enum"]) - set(new.get("enum", []))
        if removed:
            problems.append(f"{path}: enum values removed {sorted(removed)}")
    if "anyOf" in old and "anyOf" in new:
        # Each variant the old schema accepted must still be accepted by some new variant
        # (compared by the same rules: a description or a loosened object is no change).
        for variant in old["anyOf"]:
            if not any(
                not incompatibilities(variant, n, path, old_root, new_root) for n in new["anyOf"]
            ):
                shown = json.dumps(_resolve(variant, old_root), sort_keys=True)
                problems.append(f"{path}: accepted variant removed {shown[:80]}")
    if old.get("additionalProperties") is not False and new.get("additionalProperties") is False:
        problems.append(f"{path or '/'}: closed to additional properties")
    old_props = old.get("properties", {})
    new_props = new.get("properties", {})
    for name, sub in old_props.items():
        if name not in new_props:
            problems.append(f"{path}/{name}: property removed")
        else:
            problems.extend(
                incompatibilities(sub, new_props[name], f"{path}/{name}", old_root, new_root)
            )
    added_required = set(new.get("required", [])) - set(old.get("required", []))
    for name in sorted(added_required):
        problems.append(f"{path}/{name}: new required property")
    if "items" in old and "items" in new:
        problems.extend(
            incompatibilities(old["items"], new["items"], f"{path}[]", old_root, new_root)
        )
    return problems


def release_problems(released_dir: Path = RELEASED_DIR) -> list[str]:
    """Why the current events would break a subscriber of the released ones. Empty = fine.

    For each released `<Event>.v<N>.json`: the event type still exists; if its current
    version is still N, the current schema is compatible with the released one
    (`incompatibilities`); if it is newer (a breaking change, bumped), an upcaster leads from
    every version since N to the current one, so this code still reads the released events.
    """
    problems: list[str] = []
    current = registered_events()
    for path in sorted(released_dir.glob("*.v*.json")):
        event_type, version_text = path.name.removesuffix(".json").rsplit(".v", 1)
        released_version = int(version_text)
        if event_type not in current:
            problems.append(f"{event_type}: released v{released_version}, no longer registered")
            continue
        version = current[event_type].model_fields["version"].default
        if version < released_version:
            problems.append(f"{event_type}: v{version} is older than released v{released_version}")
        elif version == released_version:
            released = json.loads(path.read_text())
            problems.extend(
                f"{event_type} v{version}{p}"
                for p in incompatibilities(released, schema_for(event_type))
            )
        else:
            problems.extend(
                f"{event_type}: v{v} -> v{v + 1} has no upcaster"
                for v in range(released_version, version)
                if not has_upcaster(event_type, v)
            )
    return problems


def release(directory: Path = SCHEMA_DIR, released_dir: Path = RELEASED_DIR) -> list[Path]:
    """Snapshot the current schemas as released (kept: older versions' files stay)."""
    released_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in export(directory):
        target = released_dir / path.name
        target.write_text(path.read_text())
        written.append(target)
    return written


if __name__ == "__main__":
    for p in release() if "--release" in sys.argv[1:] else export():
        sys.stdout.write(f"wrote {p}\n")
