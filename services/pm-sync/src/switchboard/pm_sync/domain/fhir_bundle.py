"""FHIR R4 search Bundles -> events (X-FHIR-1): one page of a poll as a `PollResult` (events,
invalid resources with their reasons, the newest `meta.lastUpdated` as the next cursor). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from switchboard.events import Event
from switchboard.pm_sync.domain.fhir_mapping import (
    RESOURCE_TYPES,
    FhirResourceError,
    map_resource,
)


@dataclass(slots=True)
class PollResult:
    resource_type: str
    events: list[Event] = field(default_factory=list)
    invalid: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    cursor: str | None = None  # newest meta.lastUpdated seen (FHIR instant text)
    pages: int = 0
    ignored: int = 0  # valid resources that are no event (e.g. a proposed appointment)

    def merge(self, other: PollResult) -> None:
        self.events.extend(other.events)
        self.invalid.extend(other.invalid)
        self.cursor = newest_cursor(self.cursor, other.cursor)
        self.pages += other.pages
        self.ignored += other.ignored


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def newest_cursor(a: str | None, b: str | None) -> str | None:
    ta, tb = _instant(a), _instant(b)
    if ta is None:
        return b if tb is not None else a
    if tb is None:
        return a
    return b if tb > ta else a


def map_bundle(
    bundle: Mapping[str, Any], practice_id: str, resource_type: str | None = None
) -> PollResult:
    """Every entry of a Bundle -> events / invalid; entries of other types are skipped."""
    result = PollResult(resource_type=resource_type or "*", pages=1)
    for entry in bundle.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping):
            continue
        if (entry.get("search") or {}).get("mode") == "outcome":
            continue
        kind = resource.get("resourceType")
        if resource_type is not None and kind != resource_type:
            continue
        if resource_type is None and kind not in RESOURCE_TYPES:
            continue
        result.cursor = newest_cursor(
            result.cursor, (resource.get("meta") or {}).get("lastUpdated")
        )
        try:
            event = map_resource(resource, practice_id)
        except FhirResourceError as exc:
            result.invalid.append((dict(resource), str(exc)))
            continue
        if event is None:
            result.ignored += 1
        else:
            result.events.append(event)
    return result
