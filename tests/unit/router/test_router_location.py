"""Location and provider of a message (R-LOC-1..3, R-PROV-1)."""

from __future__ import annotations

import pytest
from router_builders import (
    BROOKLYN,
    DR_LEE,
    DR_PATEL,
    HOUR,
    MANHATTAN,
    MINUTE,
    QUEENS,
    T0,
    appointment,
    message,
    patient,
    settings,
    state,
)

from switchboard.router.decision import decide, next_patient_state
from switchboard.router.model import NextAppointment
from switchboard.rules.appointments import next_upcoming

# (case, patient state, location, source, new profile location, rule)
LOCATION_CASES = [
    # covers R-LOC-1: the next upcoming appointment gives the location and sets the profile.
    (
        "next appointment, empty profile",
        patient(None, appointment(MANHATTAN)),
        MANHATTAN,
        "next_appointment",
        MANHATTAN,
        "R-LOC-1",
    ),
    # covers R-LOC-3: an upcoming appointment elsewhere moves the profile.
    (
        "next appointment elsewhere",
        patient(BROOKLYN, appointment(MANHATTAN)),
        MANHATTAN,
        "next_appointment",
        MANHATTAN,
        "R-LOC-1",
    ),
    # covers R-LOC-3: same location as the profile: nothing to change.
    (
        "next appointment at the profile location",
        patient(MANHATTAN, appointment(MANHATTAN)),
        MANHATTAN,
        "next_appointment",
        None,
        "R-LOC-1",
    ),
    # covers R-LOC-2: no upcoming appointment, the profile location from an earlier message.
    ("profile only", patient(BROOKLYN), BROOKLYN, "profile", None, "R-LOC-2"),
    # covers R-LOC-2: nothing known: Location unknown.
    ("nothing known", patient(), None, "unknown", None, "R-LOC-2"),
    # covers R-LOC-2: an unrecognised sender has no patient at all.
    ("no patient", None, None, "unknown", None, "R-LOC-2"),
    # covers R-LOC-2: a "next" appointment that already started is not upcoming.
    (
        "stale next appointment",
        patient(QUEENS, appointment(MANHATTAN, start=T0 - MINUTE)),
        QUEENS,
        "profile",
        None,
        "R-LOC-2",
    ),
    # covers R-LOC-1: an appointment starting as the message arrives still counts.
    (
        "appointment starting now",
        patient(QUEENS, appointment(MANHATTAN, start=T0)),
        MANHATTAN,
        "next_appointment",
        MANHATTAN,
        "R-LOC-1",
    ),
    # covers R-LOC-2: an appointment without a location falls back to the profile.
    (
        "appointment without location",
        patient(BROOKLYN, appointment(None)),
        BROOKLYN,
        "profile",
        None,
        "R-LOC-2",
    ),
]


@pytest.mark.parametrize(
    ("case", "pat", "location", "source", "new_profile", "rule"),
    LOCATION_CASES,
    ids=[c[0] for c in LOCATION_CASES],
)
def test_location(case, pat, location, source, new_profile, rule):
    msg = message(patient=pat.patient_id if pat else None)
    decision = decide(msg, state(patient=pat), settings(), T0)
    assert (decision.location_id, decision.location_source) == (location, source)
    assert decision.new_profile_location_id == new_profile
    location_rules = [r for r in decision.explanation if r.rule.startswith("R-LOC")]
    assert location_rules[0].rule == rule


# covers R-LOC-1
@pytest.mark.parametrize("channel", ["sms", "email", "secure_email", "web_chat", "voicemail"])
def test_every_channel_gets_the_appointment_location(channel):
    msg = message(channel, textable=channel == "sms")
    decision = decide(msg, state(patient=patient(None, appointment(BROOKLYN))), settings(), T0)
    assert decision.location_id == BROOKLYN


# covers R-LOC-3
def test_profile_sticks_after_the_appointment_passed():
    """Seed 000: once a message found an upcoming appointment, the profile keeps that
    location; a later message with no upcoming appointment is still routed there."""
    s, pat = settings(), patient(None, appointment(MANHATTAN, start=T0 + 2 * HOUR))
    first = decide(message(at=T0, n=1), state(patient=pat), s, T0)
    pat = next_patient_state(pat, first)
    assert pat is not None and pat.profile_location_id == MANHATTAN
    later = message(at=T0 + 30 * 24 * HOUR, n=2)  # the appointment is long past
    second = decide(later, state(patient=pat), s, later.received_at)
    assert (second.location_id, second.location_source) == (MANHATTAN, "profile")
    assert second.new_profile_location_id is None
    assert next_patient_state(pat, second) == pat


# covers R-LOC-1
def test_location_routing_off_sets_no_label_and_no_profile():
    pat = patient(BROOKLYN, appointment(MANHATTAN))
    decision = decide(message(), state(patient=pat), settings(location_routing=False), T0)
    assert (decision.location_id, decision.location_source) == (None, "unknown")
    assert decision.new_profile_location_id is None


# covers R-PROV-1
@pytest.mark.parametrize(
    ("pat", "provider", "source", "new_profile"),
    [
        (patient(None, appointment(provider=DR_PATEL)), DR_PATEL, "next_appointment", DR_PATEL),
        (
            patient(None, appointment(provider=DR_PATEL), DR_LEE),
            DR_PATEL,
            "next_appointment",
            DR_PATEL,
        ),
        (patient(None, None, DR_LEE), DR_LEE, "profile", None),
        (patient(), None, "unknown", None),
    ],
)
def test_provider_follows_the_location_rules(pat, provider, source, new_profile):
    decision = decide(message(), state(patient=pat), settings(provider_routing=True), T0)
    assert (decision.provider_id, decision.provider_source) == (provider, source)
    assert decision.new_profile_provider_id == new_profile


# covers R-LOC-1
def test_next_upcoming_picks_the_earliest_future_appointment():
    early = NextAppointment("a", T0 - HOUR, location_id=QUEENS)
    soon = NextAppointment("b", T0 + HOUR, location_id=BROOKLYN)
    later = NextAppointment("c", T0 + 5 * HOUR, location_id=MANHATTAN)
    assert next_upcoming([later, early, soon], T0) == soon
    assert next_upcoming([early], T0) is None
