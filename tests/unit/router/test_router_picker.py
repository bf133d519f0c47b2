"""The reason catalogue and picker (R-REASON-1, R-REASON-2, R-REASON-3)."""

from __future__ import annotations

import pytest
from router_builders import HOUR, MA_1, MINUTE, T0, TEAM, conversation, settings

from switchboard.router.catalogue import DEFAULT_REASONS, catalogue
from switchboard.router.model import Subscription
from switchboard.router.picker import offered_reasons, should_offer_picker


# covers R-REASON-1
def test_default_catalogue_codes_and_labels():
    assert [(r.code, r.label) for r in DEFAULT_REASONS] == [
        ("prescriptions_refills", "Prescriptions / Refills"),
        ("test_lab_results", "Test / Lab Results"),
        ("appointments", "Appointments"),
        ("billing", "Billing"),
        ("referrals", "Referrals"),
        ("medical_question", "Medical Question"),
        ("other", "Other"),
    ]


# covers R-REASON-1
def test_operators_add_reasons_but_cannot_reword_defaults():
    reasons = catalogue({"covid_vaccines": "COVID-19 Vaccines", "billing": "Money"})
    labels = {r.code: r.label for r in reasons}
    assert labels["covid_vaccines"] == "COVID-19 Vaccines"
    assert labels["billing"] == "Billing"
    assert reasons[-1].code == "other"  # Other stays last, after added reasons


# covers R-REASON-2
def test_only_subscribed_reasons_are_offered_plus_other():
    codes = [r.code for r in offered_reasons(settings(), [MA_1])]
    assert codes == ["prescriptions_refills", "test_lab_results", "other"]
    codes = [r.code for r in offered_reasons(settings(), TEAM)]
    assert "medical_question" not in codes  # nobody subscribed: hidden (R-REASON-1)
    assert codes == [
        "prescriptions_refills",
        "test_lab_results",
        "appointments",
        "billing",
        "referrals",
        "other",
    ]


# covers R-REASON-2
def test_nothing_offered_when_reason_routing_is_off():
    assert offered_reasons(settings(reason_routing=False), TEAM) == ()


# covers R-REASON-2
def test_subscribed_operator_reason_is_offered():
    s = settings(extra_reasons={"covid_vaccines": "COVID-19 Vaccines"})
    subs = [Subscription("nurse", reasons={"covid_vaccines"})]
    assert [r.code for r in offered_reasons(s, subs)] == ["covid_vaccines", "other"]


# (conversation, now, offered, why)
PICKER_CASES = [
    # covers R-REASON-3: nothing yet: ask.
    (None, T0, True, "new_conversation"),
    # covers R-REASON-3: closed, read, quiet for more than an hour: ask.
    (conversation("billing", last=T0 - 2 * HOUR), T0, True, "closed_read_and_quiet"),
    # covers R-REASON-3: assigned to a person or any shared inbox, Unassigned included.
    (
        conversation("billing", last=T0 - 2 * HOUR, status="open", assigned=True),
        T0,
        False,
        "assigned",
    ),
    # covers R-REASON-3: open means it sits in an inbox, even if the flag was not set.
    (conversation("billing", last=T0 - 2 * HOUR, status="open"), T0, False, "assigned"),
    # covers R-REASON-3: the patient has not read the last practice message.
    (conversation("billing", last=T0 - 2 * HOUR, read=False), T0, False, "unread_practice_message"),
    # covers R-STICKY-1: the patient's last message was under an hour ago.
    (conversation("billing", last=T0 - 59 * MINUTE), T0, False, "within_one_hour"),
    # covers R-STICKY-1: exactly an hour is no longer "less than one hour ago".
    (conversation("billing", last=T0 - HOUR), T0, True, "closed_read_and_quiet"),
    # covers R-REASON-3: a conversation the patient never wrote in: ask.
    (conversation(None, last=None), T0, True, "closed_read_and_quiet"),
]


@pytest.mark.parametrize(("conv", "now", "offered", "why"), PICKER_CASES)
def test_should_offer_picker(conv, now, offered, why):
    assert should_offer_picker(conv, now) == (offered, why)
