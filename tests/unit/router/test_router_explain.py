"""The decision record and its event (R-EXPLAIN-1, X-EXPLAIN-1, R-SUB-2)."""

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
    TEXTABLE,
    appointment,
    conversation,
    message,
    patient,
    rules,
    settings,
    state,
)

from switchboard.events import MessageReceived, MessageRouted, decode, deterministic_id, encode
from switchboard.router.decision import decide
from switchboard.router.model import InboundMessage


def received(**overrides: object) -> MessageReceived:
    values: dict[str, object] = {
        "event_id": uuid.UUID(int=0xE1),
        "occurred_at": T0,
        "practice_id": PRACTICE,
        "correlation_id": uuid.UUID(int=0xC0),
        "message_id": uuid.UUID(int=1),
        "conversation_id": CONVERSATION,
        "channel": "web_chat",
        "sender": "patient@example.org",
        "recipient": "portal",
        "provider": "messenger",
        "provider_message_id": "m-1",
        "received_at": T0,
        "patient_id": PATIENT,
        "selected_reason": "prescriptions_refills",
    }
    values.update(overrides)
    return MessageReceived(**values)  # type: ignore[arg-type]


# covers R-EXPLAIN-1
def test_explanation_names_rules_and_their_inputs():
    pat = patient(None, appointment(MANHATTAN, version=4))
    decision = decide(message(reason="prescriptions_refills"), state(patient=pat), settings(), T0)
    assert rules(decision) == ["R-REASON-2", "R-LOC-1", "R-LOC-3", "R-PROV-1", "R-SUB-1", "R-SUB-2"]
    by_rule = {r.rule: r for r in decision.explanation}
    assert by_rule["R-LOC-1"].inputs["appointment_id"] == "appt-1"
    assert by_rule["R-LOC-1"].inputs["appointment_version"] == 4
    assert by_rule["R-LOC-1"].inputs["scheduling_event_id"] == str(uuid.UUID(int=0xA11))
    assert by_rule["R-LOC-3"].inputs == {"from": None, "to": MANHATTAN}
    sub = by_rule["R-SUB-1"].inputs
    assert sub["settings_version"] == 7 and sub["subscriptions_version"] == 12
    assert sub["recipients"] == ["ma-manhattan-1", "ma-manhattan-2"]
    assert sub["dimensions"] == ["reason", "location"]
    assert decision.settings_version == 7


# covers X-EXPLAIN-1
def test_sticky_explanation_says_why_the_pick_was_ignored():
    conv = conversation("billing", last=T0)
    msg = message(reason="medical_question", at=T0 + timedelta(minutes=30))
    first = decide(msg, state(conversation=conv), settings(), T0).explanation[0]
    assert first.rule == "R-STICKY-1"
    assert first.inputs["previous_reason"] == "billing"
    assert first.inputs["selected_reason"] == "medical_question"
    assert first.inputs["last_patient_message_at"] == T0.isoformat()


# covers R-EXPLAIN-1
def test_to_event_is_a_valid_deterministic_message_routed():
    cause = received()
    s = settings()
    msg = InboundMessage.from_event(cause, s)
    decision = decide(msg, state(patient=patient(MANHATTAN)), s, T0)
    event = decision.to_event(cause, T0 + timedelta(seconds=1))
    assert isinstance(event, MessageRouted)
    assert event.event_id == deterministic_id(cause.event_id, "router")
    assert event.causation_id == cause.event_id and event.correlation_id == cause.correlation_id
    assert (event.message_id, event.trigger, event.reason) == (
        cause.message_id,
        "message",
        "prescriptions_refills",
    )
    assert event.recipients == ("ma-manhattan-1", "ma-manhattan-2")
    assert event.inboxes[0] == "unassigned"
    assert event.settings_version == 7
    assert event.explanation == decision.explanation
    # It survives the wire: the registry decodes what it encodes.
    assert decode(encode(event)) == event
    assert decision.to_event(cause, T0 + timedelta(seconds=1)) == event


# covers R-EXPLAIN-1
def test_to_event_refuses_another_practice():
    decision = decide(message(), state(), settings(), T0)
    with pytest.raises(ValueError, match="practices"):
        decision.to_event(received(practice_id="other-practice"), T0)


@pytest.mark.parametrize(
    ("channel", "recipient", "textable_numbers", "expected"),
    [
        ("sms", TEXTABLE, frozenset(), True),  # single line: every SMS number is textable
        ("sms", TEXTABLE, frozenset({TEXTABLE}), True),
        ("sms", "+12125550199", frozenset({TEXTABLE}), False),
        ("email", TEXTABLE, frozenset(), False),
    ],
)
# covers R-OVERWRITE-1
def test_inbound_message_knows_the_textable_number(channel, recipient, textable_numbers, expected):
    cause = received(channel=channel, recipient=recipient, selected_reason=None)
    msg = InboundMessage.from_event(cause, settings(textable_numbers=textable_numbers))
    assert msg.is_to_textable_number is expected


# covers T-1
def test_decide_refuses_mismatched_inputs():
    with pytest.raises(ValueError):
        decide(message(), state(), settings(practice_id="another"), T0)
    with pytest.raises(ValueError):
        decide(message(patient="pat-2"), state(patient=patient()), settings(), T0)
