"""Configuration folded from its events, and explanations against it (X-ASOF-1, X-EXPLAIN-1)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from router_builders import (
    CONVERSATION,
    MANHATTAN,
    PATIENT,
    PRACTICE,
    T0,
    appointment,
    conversation,
    message,
    patient,
)

from switchboard.events import (
    AutoAssignPolicySet,
    MessageRouted,
    ReasonAdded,
    RoutingSettingsChanged,
    StaffSubscriptionsSet,
    VoicemailExtensionMapped,
)
from switchboard.router.explain import explain_staff
from switchboard.router.practice_config import PracticeConfig
from switchboard.router.snapshots import state_inputs, states_from


def envelope(n: int) -> dict[str, object]:
    return {
        "event_id": uuid.UUID(int=n),
        "correlation_id": uuid.UUID(int=n),
        "practice_id": PRACTICE,
        "occurred_at": T0 + timedelta(minutes=n),
        "actor": "u-admin",
    }


def test_every_change_bumps_exactly_one_version_and_round_trips_through_json():
    # covers X-ASOF-1
    config = PracticeConfig.initial(PRACTICE)
    assert not config.settings.any_dimension  # both off by default (section 2)
    events = [
        RoutingSettingsChanged(reason_routing=True, **envelope(1)),
        StaffSubscriptionsSet(
            staff_id="ma-1", reasons=("billing",), locations=(MANHATTAN,), **envelope(2)
        ),
        VoicemailExtensionMapped(extension="3", target="prescriptions_refills", **envelope(3)),
        ReasonAdded(code="covid_testing", label="COVID testing", **envelope(4)),
        AutoAssignPolicySet(inbox="unassigned", policy="round_robin", **envelope(5)),
        RoutingSettingsChanged(location_routing=True, **envelope(6)),
    ]
    for event in events:
        config = config.apply(event)
    assert (config.settings.version, config.subscriptions_version) == (5, 1)
    assert config.settings.reason_routing and config.settings.location_routing  # None = unchanged
    assert config.settings.voicemail_extensions == {"3": "prescriptions_refills"}
    assert config.settings.extra_reasons == {"covid_testing": "COVID testing"}
    assert config.settings.auto_assign == {"unassigned": "round_robin"}
    assert PracticeConfig.from_json(config.to_json()) == config

    config = config.apply(VoicemailExtensionMapped(extension="3", target=None, **envelope(7)))
    config = config.apply(AutoAssignPolicySet(inbox="unassigned", policy=None, **envelope(8)))
    config = config.apply(StaffSubscriptionsSet(staff_id="ma-1", **envelope(9)))
    assert config.settings.voicemail_extensions == {} and config.settings.auto_assign == {}
    assert config.subscriptions == {}  # an empty subscription is an unsubscription
    assert config.subscriptions_version == 2


def test_config_of_another_practice_is_refused():
    # covers T-1
    event = RoutingSettingsChanged(reason_routing=True, **{**envelope(1), "practice_id": "other"})
    with pytest.raises(ValueError, match="T-1"):
        PracticeConfig.initial(PRACTICE).apply(event)


def routed(**fields: object) -> MessageRouted:
    values: dict[str, object] = {
        "event_id": uuid.UUID(int=99),
        "correlation_id": uuid.UUID(int=99),
        "practice_id": PRACTICE,
        "occurred_at": T0,
        "message_id": uuid.UUID(int=1),
        "conversation_id": CONVERSATION,
        "reason": "prescriptions_refills",
        "reason_source": "patient_pick",
        "location_id": MANHATTAN,
        "location_source": "next_appointment",
        "recipients": ("ma-1",),
        "decided_at": T0,
    }
    values.update(fields)
    return MessageRouted(**values)  # type: ignore[arg-type]


def configured(*subs: StaffSubscriptionsSet) -> PracticeConfig:
    config = PracticeConfig.initial(PRACTICE).apply(
        RoutingSettingsChanged(reason_routing=True, location_routing=True, **envelope(1))
    )
    for sub in subs:
        config = config.apply(sub)
    return config


def test_why_not_names_the_dimension_that_did_not_match():
    # covers X-EXPLAIN-1, R-SUB-1
    config = configured(
        StaffSubscriptionsSet(
            staff_id="ma-1",
            reasons=("prescriptions_refills",),
            locations=(MANHATTAN,),
            **envelope(2),
        ),
        StaffSubscriptionsSet(
            staff_id="ma-bk",
            reasons=("prescriptions_refills",),
            locations=("loc-brooklyn",),
            **envelope(3),
        ),
    )
    got = explain_staff(routed(), config, "ma-1")
    assert got.received and "every enabled dimension" in got.summary
    other = explain_staff(routed(), config, "ma-bk")
    assert not other.received
    assert other.summary == f"not subscribed to location {MANHATTAN} (R-SUB-1)"
    assert [(c.dimension, c.ok) for c in other.checks if c.rule == "R-SUB-1"] == [
        ("reason", True),
        ("location", False),
    ]
    nobody = explain_staff(routed(), config, "u-new")
    assert nobody.summary.startswith("not subscribed to anything")


def test_why_not_when_routing_was_off():
    # covers X-EXPLAIN-1, R-SUB-2
    config = PracticeConfig.initial(PRACTICE)
    got = explain_staff(routed(recipients=()), config, "ma-1")
    assert not got.received and "Unassigned only" in got.summary


def test_state_snapshot_round_trips_for_what_if_replays():
    # covers X-WHATIF-1
    msg = message("sms", at=T0)
    conv = conversation(
        reason="billing", last=T0 - timedelta(minutes=30), shared_inboxes=("shared:refills",)
    )
    pat = patient(MANHATTAN, appointment(start=T0 + timedelta(days=2), appointment_id="appt-9"))
    pid, conv2, pat2 = states_from(state_inputs(msg, conv, pat), CONVERSATION)
    assert (pid, conv2, pat2) == (PATIENT, conv, pat)
    assert states_from({"patient_id": None}, CONVERSATION) == (None, None, None)


def test_availability_is_kept_beside_settings_without_changing_their_version():
    # covers X-AVAIL-1, X-BALANCE-1
    from switchboard.events import PracticeNotificationSettingsChanged, StaffAvailabilityChanged
    from switchboard.events.notifications import WeeklyWindow

    config = PracticeConfig.initial(PRACTICE).apply(
        PracticeNotificationSettingsChanged(timezone="America/New_York", **envelope(1))
    )
    monday_shift = WeeklyWindow(weekday=0, start="09:00", end="17:00")
    config = config.apply(
        StaffAvailabilityChanged(staff_id="ma-1", shifts=(monday_shift,), **envelope(2))
    )
    config = config.apply(
        StaffAvailabilityChanged(
            staff_id="ma-2",
            out_of_office_from=T0,
            out_of_office_until=T0 + timedelta(days=2),
            **envelope(3),
        )
    )
    assert (config.settings.version, config.subscriptions_version, config.seq) == (0, 0, 3)
    # T0 is Monday 09:00 UTC = 05:00 in New York: before ma-1's shift; ma-2 is out of office.
    assert set(config.away_at(T0)) == {"ma-1", "ma-2"}
    # Monday 14:00 UTC = 10:00 New York: ma-1 on shift, ma-2 still away.
    assert set(config.away_at(T0 + timedelta(hours=5))) == {"ma-2"}
    # Two days later ma-2 is back; Wednesday is outside ma-1's only (Monday) window.
    assert set(config.away_at(T0 + timedelta(days=2, hours=5))) == {"ma-1"}
    assert PracticeConfig.from_json(config.to_json()) == config
