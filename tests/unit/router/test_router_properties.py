"""Properties of `decide` over generated practices, patients and messages (hypothesis)."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from switchboard.events import Channel, MessageReceived, MessageRouted
from switchboard.router.catalogue import DEFAULT_CODES, LOCATION_UNKNOWN, PROVIDER_UNKNOWN
from switchboard.router.decision import decide
from switchboard.router.model import (
    ConversationState,
    InboundMessage,
    NextAppointment,
    PatientState,
    RouterState,
    RoutingSettings,
    StaffAvailability,
    Subscription,
)

PRACTICE = "prop-practice"
T0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
CONVERSATION = uuid.UUID(int=7)
REASONS = [*sorted(DEFAULT_CODES), "covid_vaccines"]
LOCATIONS = ["L1", "L2", "L3"]
PROVIDERS = ["P1", "P2"]
STAFF = [f"s{i}" for i in range(8)]
INBOXES = ["unassigned", "shared:refills"]
CHANNELS: list[Channel] = ["sms", "email", "secure_email", "web_chat", "voicemail"]


def subsets(values: list[str]) -> st.SearchStrategy[frozenset[str]]:
    return st.frozensets(st.sampled_from(values), max_size=len(values))


routing_settings = st.builds(
    RoutingSettings,
    practice_id=st.just(PRACTICE),
    version=st.integers(0, 50),
    reason_routing=st.booleans(),
    location_routing=st.booleans(),
    provider_routing=st.booleans(),
    voicemail_extensions=st.dictionaries(
        st.sampled_from(["1", "2", "3"]),
        st.sampled_from([*REASONS, "shared:refills", "not_a_reason"]),
    ),
    extra_reasons=st.sampled_from([{}, {"covid_vaccines": "COVID-19 Vaccines"}]),
    auto_assign=st.dictionaries(
        st.sampled_from(INBOXES), st.sampled_from([None, "round_robin", "least_open"])
    ),
)

subscription = st.builds(
    Subscription,
    staff_id=st.sampled_from(STAFF),
    reasons=subsets(REASONS),
    locations=subsets([*LOCATIONS, LOCATION_UNKNOWN]),
    providers=subsets([*PROVIDERS, PROVIDER_UNKNOWN]),
    inboxes=subsets(INBOXES),
)

appointment = st.builds(
    NextAppointment,
    appointment_id=st.sampled_from(["a1", "a2"]),
    # Half the draws land near the message time, where "upcoming" is decided.
    start=(st.integers(-90, 90) | st.integers(-5 * 60, 100 * 60)).map(
        lambda m: T0 + timedelta(minutes=m)
    ),
    version=st.integers(0, 9),
    location_id=st.none() | st.sampled_from(LOCATIONS),
    provider_id=st.none() | st.sampled_from(PROVIDERS),
)

patient = st.builds(
    PatientState,
    patient_id=st.just("pat"),
    profile_location_id=st.none() | st.sampled_from(LOCATIONS),
    profile_provider_id=st.none() | st.sampled_from(PROVIDERS),
    next_appointment=st.none() | appointment,
)

conversation = st.builds(
    ConversationState,
    conversation_id=st.just(CONVERSATION),
    reason=st.none() | st.sampled_from(REASONS),
    last_patient_message_at=st.none()
    | st.integers(-10, 5 * 60).map(lambda m: T0 - timedelta(minutes=m)),
    assigned=st.booleans(),
    status=st.sampled_from(["open", "closed"]),
    patient_read_last_practice_message=st.booleans(),
    assignee=st.none() | st.sampled_from(STAFF),
)


@st.composite
def scenario(draw: st.DrawFn) -> tuple[InboundMessage, RouterState, RoutingSettings]:
    settings = draw(routing_settings)
    pat = draw(st.none() | patient)
    channel = draw(st.sampled_from(CHANNELS))
    message = InboundMessage(
        message_id=uuid.UUID(int=draw(st.integers(1, 10**6))),
        conversation_id=CONVERSATION,
        practice_id=PRACTICE,
        channel=channel,
        recipient="+12125550100",
        received_at=T0,
        patient_id=pat.patient_id if pat else None,
        selected_reason=draw(st.none() | st.sampled_from([*REASONS, "bogus"])),
        voicemail_extension=draw(st.none() | st.sampled_from(["1", "2", "3", "9"])),
        is_to_textable_number=channel == "sms" and draw(st.booleans()),
    )
    state = RouterState(
        subscriptions=tuple(draw(st.lists(subscription, max_size=12))),
        subscriptions_version=draw(st.integers(0, 9)),
        patient=pat,
        conversation=draw(st.none() | conversation),
        availability={
            s: StaffAvailability(away=a)
            for s, a in draw(st.dictionaries(st.sampled_from(STAFF), st.booleans())).items()
        },
        open_work=draw(st.dictionaries(st.sampled_from(STAFF), st.integers(0, 20))),
        rr_cursor=draw(st.dictionaries(st.sampled_from(INBOXES), st.sampled_from(STAFF))),
    )
    return message, state, settings


def expected_place(pat: PatientState | None, kind: str) -> str | None:
    """Independent oracle for R-LOC-1/R-LOC-2 (and R-PROV-1)."""
    if pat is None:
        return None
    appt = pat.next_appointment
    if appt is not None and appt.start >= T0:
        value = appt.location_id if kind == "location" else appt.provider_id
        if value is not None:
            return value
    return pat.profile_location_id if kind == "location" else pat.profile_provider_id


def matches_every_enabled_dimension(
    sub: Subscription, settings: RoutingSettings, reason: str, loc: str | None, prov: str | None
) -> bool:
    return (
        (not settings.reason_routing or reason in sub.reasons)
        and (not settings.location_routing or (loc or LOCATION_UNKNOWN) in sub.locations)
        and (not settings.provider_routing or (prov or PROVIDER_UNKNOWN) in sub.providers)
    )


# covers R-SUB-2
@given(scenario())
def test_every_routed_message_is_in_unassigned(case):
    message, state, settings = case
    decision = decide(message, state, settings, T0)
    assert decision.inboxes[0] == "unassigned"
    assert decision.inboxes.count("unassigned") == 1


# covers R-SUB-1, R-LOC-1, R-LOC-2, R-PROV-1
@given(scenario())
def test_recipients_are_exactly_those_matching_every_enabled_dimension(case):
    message, state, settings = case
    decision = decide(message, state, settings, T0)
    loc = expected_place(state.patient, "location") if settings.location_routing else None
    prov = expected_place(state.patient, "provider") if settings.provider_routing else None
    assert (decision.location_id, decision.provider_id) == (loc, prov)
    if not settings.any_dimension:
        assert decision.recipients == ()
        return
    expected = {
        s.staff_id
        for s in state.subscriptions
        if matches_every_enabled_dimension(s, settings, decision.reason, loc, prov)
    }
    assert decision.recipients == tuple(sorted(expected))


# covers R-EXPLAIN-1, X-REPLAY-1
@given(scenario(), st.integers(0, 10**6), st.randoms(use_true_random=False))
def test_same_inputs_same_decision(case, seconds_later, rnd: random.Random):
    message, state, settings = case
    first = decide(message, state, settings, T0)
    assert decide(message, state, settings, T0) == first
    # Subscription order and processing delay do not matter: only the decided_at stamp moves.
    shuffled = list(state.subscriptions)
    rnd.shuffle(shuffled)
    later = T0 + timedelta(seconds=seconds_later)
    again = decide(message, replace(state, subscriptions=tuple(shuffled)), settings, later)
    assert again.decided_at == later
    assert replace(again, decided_at=T0) == first


# covers X-BALANCE-1
@given(scenario())
def test_auto_assignee_is_an_available_subscriber_of_the_assigning_inbox(case):
    message, state, settings = case
    decision = decide(message, state, settings, T0)
    if decision.assignee is None:
        return
    assert not state.is_away(decision.assignee)
    assert decision.assigned_via in decision.inboxes
    assert settings.auto_assign.get(decision.assigned_via) is not None
    assert any(
        s.staff_id == decision.assignee and decision.assigned_via in s.inboxes
        for s in state.subscriptions
    )
    assert state.conversation is None or state.conversation.assignee is None


# covers R-EXPLAIN-1
@given(scenario())
def test_every_decision_makes_a_valid_event(case):
    message, state, settings = case
    cause = MessageReceived(
        event_id=uuid.UUID(int=99),
        occurred_at=T0,
        practice_id=PRACTICE,
        correlation_id=uuid.UUID(int=98),
        message_id=message.message_id,
        conversation_id=message.conversation_id,
        channel=message.channel,
        sender="+12125550111",
        recipient=message.recipient,
        provider="twilio",
        provider_message_id="SM1",
        received_at=T0,
        patient_id=message.patient_id,
    )
    event = decide(message, state, settings, T0).to_event(cause)
    # The event survives a round trip: every explanation input is a type the contract allows.
    assert MessageRouted.model_validate(event.model_dump()) == event
    assert event.inboxes[0] == "unassigned"
    assert [r.rule for r in event.explanation].count("R-SUB-1") == 1
