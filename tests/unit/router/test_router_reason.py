"""Which reason a message gets: picks, stickiness, overwrites (decide)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from router_builders import (
    FRONT_DESK,
    HOUR,
    MA_1,
    MA_2,
    MANHATTAN,
    MINUTE,
    T0,
    conversation,
    message,
    patient,
    settings,
    state,
)

from switchboard.router.decision import decide, next_conversation_state

# (case, message, conversation, expected reason, expected source, expected rule)
REASON_CASES = [
    # covers R-REASON-2: a new conversation's pick routes the message.
    (
        "new conversation, patient picks Refills",
        message(reason="prescriptions_refills"),
        None,
        "prescriptions_refills",
        "patient_pick",
        "R-REASON-2",
    ),
    # covers R-REASON-2: closed, read, quiet for over an hour: the picker was shown.
    (
        "closed, read, 2h later, picks Billing",
        message(reason="billing", at=T0 + 2 * HOUR),
        conversation("test_lab_results", last=T0),
        "billing",
        "patient_pick",
        "R-REASON-2",
    ),
    # covers R-REASON-2: no pick and no previous reason -> the Other bucket.
    ("new conversation, no pick", message(), None, "other", "none", "R-REASON-2"),
    # covers R-REASON-1: a code outside the catalogue is not a reason.
    ("unknown code", message(reason="tax_advice"), None, "other", "none", "R-REASON-2"),
    # covers R-STICKY-1: within the hour, even though closed; a stale pick is ignored.
    (
        "closed Billing, 30 min later",
        message(reason="medical_question", at=T0 + 30 * MINUTE),
        conversation("billing", last=T0),
        "billing",
        "sticky",
        "R-STICKY-1",
    ),
    # covers R-STICKY-1: 59 minutes is still within the hour.
    (
        "59 min later",
        message(at=T0 + 59 * MINUTE),
        conversation("billing", last=T0),
        "billing",
        "sticky",
        "R-STICKY-1",
    ),
    # covers R-REASON-3: open (assigned to Unassigned) keeps the reason after the hour.
    (
        "open conversation, 3h later",
        message(reason="billing", at=T0 + 3 * HOUR),
        conversation("test_lab_results", last=T0, status="open", assigned=True),
        "test_lab_results",
        "kept",
        "R-REASON-3",
    ),
    # covers R-REASON-3: the patient has not read the practice's last message.
    (
        "unread practice message",
        message(reason="billing", at=T0 + 3 * HOUR),
        conversation("referrals", last=T0, read=False),
        "referrals",
        "kept",
        "R-REASON-3",
    ),
    # covers R-OVERWRITE-1: an SMS to the textable number clears, even inside the hour.
    (
        "SMS to textable number within the hour",
        message("sms", at=T0 + 10 * MINUTE, textable=True),
        conversation("billing", last=T0),
        "other",
        "cleared",
        "R-OVERWRITE-1",
    ),
    # covers R-OVERWRITE-1: a voicemail clears.
    (
        "voicemail, no extension",
        message("voicemail", at=T0 + 2 * HOUR),
        conversation("billing", last=T0),
        "other",
        "cleared",
        "R-OVERWRITE-1",
    ),
    # covers R-OVERWRITE-1: "press 3 for refills" takes that reason.
    (
        "voicemail on extension 3",
        message("voicemail", at=T0 + 5 * MINUTE, extension="3"),
        conversation("billing", last=T0),
        "prescriptions_refills",
        "voicemail_extension",
        "R-OVERWRITE-1",
    ),
    # covers R-OVERWRITE-1: an SMS to a number that is not the textable line does not clear.
    (
        "SMS not to the textable number",
        message("sms", at=T0 + 10 * MINUTE, textable=False),
        conversation("billing", last=T0),
        "billing",
        "sticky",
        "R-STICKY-1",
    ),
    # covers R-OVERWRITE-1: email has no picker and does not clear the old reason.
    (
        "email, 2h after a closed Billing conversation",
        message("email", at=T0 + 2 * HOUR),
        conversation("billing", last=T0),
        "billing",
        "kept",
        "R-OVERWRITE-1",
    ),
]


@pytest.mark.parametrize(
    ("case", "msg", "conv", "reason", "source", "rule"),
    REASON_CASES,
    ids=[c[0] for c in REASON_CASES],
)
def test_reason(case, msg, conv, reason, source, rule):
    s = settings(voicemail_extensions={"3": "prescriptions_refills", "5": "shared:refills"})
    decision = decide(msg, state(conversation=conv), s, msg.received_at)
    assert (decision.reason, decision.reason_source) == (reason, source)
    assert decision.explanation[0].rule == rule


# covers R-STICKY-1
def test_exactly_one_hour_later_the_picker_is_back():
    msg = message(reason="medical_question", at=T0 + HOUR)
    decision = decide(msg, state(conversation=conversation("billing", last=T0)), settings(), T0)
    assert (decision.reason, decision.reason_source) == ("medical_question", "patient_pick")


# covers R-STICKY-1
def test_seed_billing_answered_closed_then_30_minutes_later():
    """Seed 000: the patient chose Billing, staff replied and closed, 30 minutes later
    the patient wrote again, and it was still routed to Billing."""
    s, st = settings(), state()
    first = message(reason="billing", at=T0, n=1)
    d1 = decide(first, st, s, T0)
    assert d1.reason == "billing" and "billing-1" in d1.recipients
    conv = next_conversation_state(None, first, d1)
    assert (conv.status, conv.assigned, conv.reason) == ("open", True, "billing")
    # Staff answer with "Send and Close"; the patient reads the reply.
    closed = replace(conv, status="closed", assigned=False, patient_read_last_practice_message=True)
    second = message(at=T0 + 30 * MINUTE, n=2)
    d2 = decide(second, replace(st, conversation=closed), s, second.received_at)
    assert (d2.reason, d2.reason_source) == ("billing", "sticky")
    assert d2.recipients == d1.recipients
    # An hour after that message, closed and read again: the patient is asked afresh.
    conv2 = replace(next_conversation_state(closed, second, d2), status="closed", assigned=False)
    third = message(reason="prescriptions_refills", at=T0 + 90 * MINUTE + 1 * MINUTE, n=3)
    d3 = decide(third, replace(st, conversation=conv2, patient=patient()), s, T0)
    assert (d3.reason, d3.reason_source) == ("prescriptions_refills", "patient_pick")


# covers R-OVERWRITE-1
def test_cleared_reason_is_forgotten_by_the_conversation():
    msg = message("sms", at=T0 + 2 * HOUR, textable=True)
    conv = conversation("billing", last=T0)
    decision = decide(msg, state(conversation=conv), settings(), msg.received_at)
    after = next_conversation_state(conv, msg, decision)
    assert decision.conversation_reason is None and after.reason is None
    assert after.reason_set_at == msg.received_at
    # The cleared message goes to the Other bucket: the front desk, not the billing team.
    assert decision.recipients == (FRONT_DESK.staff_id,)


# covers R-OVERWRITE-1
def test_voicemail_mapped_to_shared_inbox_still_clears_the_reason():
    s = settings(voicemail_extensions={"5": "shared:refills"})
    msg = message("voicemail", extension="5", at=T0 + 10 * MINUTE)
    decision = decide(msg, state(conversation=conversation("billing", last=T0)), s, T0)
    assert (decision.reason, decision.reason_source) == ("other", "cleared")


# covers R-OVERWRITE-1
def test_voicemail_extension_mapped_to_unknown_reason_clears():
    s = settings(voicemail_extensions={"9": "no_such_reason"})
    msg = message("voicemail", extension="9")
    decision = decide(msg, state(), s, T0)
    assert (decision.reason, decision.reason_source) == ("other", "cleared")


# covers R-REASON-1
def test_operator_added_reason_can_be_picked():
    s = settings(extra_reasons={"covid_vaccines": "COVID-19 Vaccines"})
    decision = decide(message(reason="covid_vaccines"), state(), s, T0)
    assert (decision.reason, decision.reason_source) == ("covid_vaccines", "patient_pick")
    without = decide(message(reason="covid_vaccines"), state(), settings(), T0)
    assert without.reason == "other"


# covers R-REASON-2
def test_reason_routing_off_ignores_picks_and_keeps_the_conversation_reason():
    s = settings(reason_routing=False)
    conv = conversation("billing", last=T0)
    msg = message(reason="prescriptions_refills", at=T0 + 2 * HOUR)
    decision = decide(msg, state(conversation=conv, patient=patient(MANHATTAN)), s, T0)
    assert (decision.reason, decision.reason_source) == ("other", "none")
    assert decision.conversation_reason == "billing"
    # Only location filters now: both Manhattan MAs receive it, whatever the topic.
    assert {MA_1.staff_id, MA_2.staff_id} <= set(decision.recipients)
