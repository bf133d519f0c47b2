"""Re-routing open conversations when an appointment changes (X-REROUTE-1)."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from router_builders import (
    BROOKLYN,
    CONVERSATION,
    DR_LEE,
    DR_PATEL,
    HOUR,
    MANHATTAN,
    PATIENT,
    PRACTICE,
    T0,
    conversation,
    patient,
    settings,
    state,
)

from switchboard.events import AppointmentChanged, deterministic_id
from switchboard.router.decision import reroute
from switchboard.router.model import NextAppointment
from switchboard.rules.appointments import is_active

OTHER_CONVERSATION = uuid.UUID(int=0xC2)


def change(
    kind: str = "booked", location: str = BROOKLYN, status: str = "booked"
) -> AppointmentChanged:
    return AppointmentChanged(
        event_id=uuid.UUID(int=0x5C4ED),
        occurred_at=T0,
        practice_id=PRACTICE,
        correlation_id=uuid.UUID(int=0xC0),
        appointment_id="appt-9",
        patient_id=PATIENT,
        change=kind,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        start=T0 + 24 * HOUR,
        location_id=location,
        provider_id=DR_PATEL,
        source_updated_at=T0,
        source_version=2,
    )


def open_refill_in_manhattan(**more: object):
    values: dict[str, object] = {
        "reason": "prescriptions_refills",
        "last": T0 - 2 * HOUR,
        "status": "open",
        "assigned": True,
        "location_id": MANHATTAN,
    }
    values.update(more)
    return conversation(**values)  # type: ignore[arg-type]


# covers X-REROUTE-1
def test_booking_elsewhere_moves_an_open_conversation_and_keeps_its_reason():
    booked = change("booked", BROOKLYN)
    after = patient(MANHATTAN, NextAppointment.from_event(booked))
    [decision] = reroute(booked, [open_refill_in_manhattan()], state(patient=after), settings(), T0)
    assert decision.trigger == "reroute" and decision.message_id is None
    assert (decision.reason, decision.reason_source) == ("prescriptions_refills", "kept")
    assert (decision.location_id, decision.location_source) == (BROOKLYN, "next_appointment")
    # Nobody takes refills in Brooklyn: it now sits in Unassigned only.
    assert decision.recipients == () and decision.inboxes == ("unassigned",)
    # The profile moves only when the patient messages in (R-LOC-3).
    assert decision.new_profile_location_id is None
    assert "R-LOC-3" not in [r.rule for r in decision.explanation]
    cause = decision.explanation[0]
    assert cause.rule == "X-REROUTE-1"
    assert cause.inputs["scheduling_event_id"] == str(booked.event_id)
    assert cause.inputs["appointment_id"] == "appt-9"
    assert cause.inputs["appointment_version"] == 2
    assert cause.inputs["previous_location"] == MANHATTAN
    event = decision.to_event(booked)
    assert event.causation_id == booked.event_id
    assert event.event_id == deterministic_id(booked.event_id, "router", "reroute", CONVERSATION)
    assert event.trigger == "reroute"


# covers X-REROUTE-1
def test_cancelling_falls_back_to_the_profile_location():
    cancelled = change("cancelled", BROOKLYN, status="cancelled")
    assert not is_active(cancelled.status, cancelled.change)
    after = patient(MANHATTAN, None)  # the handler found no other upcoming appointment
    conv = open_refill_in_manhattan(location_id=BROOKLYN)
    [decision] = reroute(cancelled, [conv], state(patient=after), settings(), T0)
    assert (decision.location_id, decision.location_source) == (MANHATTAN, "profile")
    assert decision.recipients == ("ma-manhattan-1", "ma-manhattan-2")
    assert decision.explanation[0].outcome == "appointment cancelled: re-evaluated"


# covers X-REROUTE-1
def test_noshow_with_nothing_else_known_goes_to_location_unknown():
    noshow = change("noshow", BROOKLYN, status="noshow")
    conv = open_refill_in_manhattan(location_id=BROOKLYN, reason="billing")
    [decision] = reroute(noshow, [conv], state(patient=patient()), settings(), T0)
    assert (decision.location_id, decision.location_source) == (None, "unknown")
    # Billing with location unknown: the billing team and the front desk hold that bucket.
    assert decision.recipients == ("billing-1", "front-desk")


# covers X-REROUTE-1
def test_closed_unchanged_and_other_patients_conversations_are_left_alone():
    booked = change("booked", BROOKLYN)
    after = patient(MANHATTAN, NextAppointment.from_event(booked))
    closed = replace(open_refill_in_manhattan(), status="closed", assigned=False)
    already_brooklyn = replace(open_refill_in_manhattan(), location_id=BROOKLYN)
    someone_else = replace(
        open_refill_in_manhattan(), conversation_id=OTHER_CONVERSATION, patient_id="pat-2"
    )
    convs = [closed, already_brooklyn, someone_else]
    assert reroute(booked, convs, state(patient=after), settings(), T0) == []


# covers X-REROUTE-1
def test_provider_change_reroutes_when_provider_routing_is_on():
    moved = change("rescheduled", MANHATTAN)
    after = patient(MANHATTAN, NextAppointment.from_event(moved), DR_LEE)
    conv = open_refill_in_manhattan(provider_id=DR_LEE)
    s = settings(provider_routing=True)
    [decision] = reroute(moved, [conv], state(patient=after), s, T0)
    assert decision.provider_id == DR_PATEL
    assert decision.recipients == ("ma-manhattan-2",)  # Dr Patel's MA only
    # Location routing alone would not have re-routed: the location did not change.
    assert reroute(moved, [conv], state(patient=after), settings(), T0) == []


# covers X-REROUTE-1
def test_nothing_to_do_when_no_appointment_dimension_is_on():
    booked = change("booked", BROOKLYN)
    after = patient(MANHATTAN, NextAppointment.from_event(booked))
    s = settings(location_routing=False)
    assert reroute(booked, [open_refill_in_manhattan()], state(patient=after), s, T0) == []


# covers X-REROUTE-1
def test_reroute_keeps_the_shared_inbox_and_never_assigns():
    booked = change("booked", BROOKLYN)
    after = patient(MANHATTAN, NextAppointment.from_event(booked))
    conv = open_refill_in_manhattan(shared_inboxes=("shared:refills",), assignee="ma-manhattan-1")
    s = settings(auto_assign={"unassigned": "round_robin"})
    [decision] = reroute(booked, [conv], state(patient=after), s, T0)
    assert decision.inboxes == ("unassigned", "shared:refills")
    assert decision.assignee is None


def test_reroute_refuses_another_patients_state():
    with pytest.raises(ValueError):
        reroute(change(), [], state(patient=replace(patient(), patient_id="pat-2")), settings(), T0)
