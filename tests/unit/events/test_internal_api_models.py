"""The internal API models write the JSON the routes answered before they were typed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from switchboard.events.internal.router import ConfigHistory, RoutingState

CONFIG = {
    "practice_id": "demo",
    "version": 3,
    "reason_routing": True,
    "location_routing": False,
    "provider_routing": False,
    "voicemail_extensions": {"3": "refill"},
    "extra_reasons": {},
    "auto_assign": {"unassigned": None},
    "textable_numbers": [],
    "subscriptions_version": 2,
    "subscriptions": [
        {"staff_id": "s1", "reasons": ["refill"], "locations": [], "providers": [], "inboxes": []}
    ],
    "timezone": "America/New_York",
    "seq": 5,
    "availability": {
        "s1": {
            "from": "2026-12-07T09:00:00+00:00",
            "until": None,
            "shifts": [[0, "09:00", "17:00"]],
        }
    },
}


def _wire(model) -> object:
    """As FastAPI writes a response model (by alias, JSON mode), unset keys left out."""
    return json.loads(json.dumps(model.model_dump(mode="json", by_alias=True, exclude_unset=True)))


def test_routing_state_round_trips_unchanged_with_the_from_key():
    body = CONFIG | {
        "reasons": [{"code": "refill", "label": "Prescription refill"}],
        "locations": [{"id": "loc-1", "name": "Main St", "active": True}],
        "providers": [],
    }
    assert _wire(RoutingState.model_validate(body)) == body


def test_history_keeps_isoformat_datetimes_and_leaves_out_an_unasked_subscription():
    at = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
    change = {
        "event_id": str(uuid.uuid4()),
        "seq": 1,
        "event_type": "RoutingSettingsChanged",
        "actor": "admin",
        "occurred_at": at.isoformat(),
        "change": {"reason_routing": True},
        "settings_version": 1,
        "subscriptions_version": 0,
    }
    body = {"at": at.isoformat(), "config": CONFIG, "changes": [change]}
    wire = _wire(ConfigHistory.model_validate(body))
    assert wire == body
    assert wire["at"].endswith("+00:00") and "subscription" not in wire
    asked = _wire(ConfigHistory.model_validate(body | {"subscription": None}))
    assert asked["subscription"] is None
