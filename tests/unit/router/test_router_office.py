"""What the patient page shows about the practice, as the router keeps it (X-PATIENTPAGE-1):
the response target, business hours and holidays folded from the notification settings (and
kept across the router's JSON snapshots), and a one-line description for every reason."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from switchboard.events import (
    PracticeNotificationSettingsChanged,
    ReasonAdded,
    ReasonDescribed,
    WeeklyWindow,
)
from switchboard.router.catalogue import OTHER, catalogue
from switchboard.router.practice_config import PracticeConfig


def envelope(n: int) -> dict[str, object]:
    return {
        "event_id": uuid.UUID(int=n),
        "correlation_id": uuid.UUID(int=n),
        "occurred_at": datetime(2026, 12, 1, 9, n, tzinfo=UTC),
        "practice_id": "demo",
        "actor": "u-admin",
    }


def test_the_office_is_folded_from_the_notification_settings_and_survives_json():
    # covers X-PATIENTPAGE-1, X-SLA-1
    config = PracticeConfig.initial("demo").apply(
        PracticeNotificationSettingsChanged(
            timezone="America/Chicago",
            sla_minutes=120,
            business_hours=(
                WeeklyWindow(weekday=0, start="08:30", end="17:30"),
                WeeklyWindow(weekday=5, start="09:00", end="12:00"),
            ),
            holidays=(date(2026, 12, 25),),
            **envelope(1),
        )
    )
    assert config.sla_minutes == 120 and config.timezone == "America/Chicago"
    assert config.business_hours == ((0, "08:30", "17:30"), (5, "09:00", "12:00"))
    assert config.holidays == ("2026-12-25",)
    assert PracticeConfig.from_json(config.to_json()) == config
    # A snapshot written before the office was kept reads as "not set".
    old = config.to_json()
    old.pop("office")
    assert PracticeConfig.from_json(old).sla_minutes is None


def test_every_default_reason_has_a_description_and_other_says_what_to_do():
    # covers X-PATIENTPAGE-1, R-REASON-1
    config = PracticeConfig.initial("demo").apply(
        ReasonAdded(code="forms", label="Forms", **envelope(2))
    )
    reasons = {r.code: r for r in catalogue(config.settings.extra_reasons)}
    assert all(r.description for c, r in reasons.items() if c != "forms")
    assert reasons["forms"].description == ""  # an added reason has none until given one
    assert "not sure" in reasons[OTHER].description


def test_an_admin_rewords_a_description_and_can_put_the_default_back():
    # covers X-PATIENTPAGE-1
    config = PracticeConfig.initial("demo").apply(
        ReasonDescribed(code="billing", description="Bills and insurance.", **envelope(3))
    )
    assert config.settings.version == 1
    described = catalogue(config.settings.extra_reasons, config.settings.reason_descriptions)
    assert {r.code: r.description for r in described}["billing"] == "Bills and insurance."
    assert PracticeConfig.from_json(config.to_json()) == config
    back = config.apply(ReasonDescribed(code="billing", description=None, **envelope(4)))
    default = {r.code: r.description for r in catalogue()}["billing"]
    again = catalogue(back.settings.extra_reasons, back.settings.reason_descriptions)
    assert {r.code: r.description for r in again}["billing"] == default
