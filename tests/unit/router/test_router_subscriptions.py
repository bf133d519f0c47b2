"""Who receives a message (R-SUB-1, R-SUB-2, R-VOICEMAIL-1, X-AVAIL-1)."""

from __future__ import annotations

import pytest
from router_builders import (
    BROOKLYN,
    DR_LEE,
    DR_PATEL,
    MA_1,
    MA_2,
    MANHATTAN,
    QUEENS,
    T0,
    appointment,
    message,
    patient,
    settings,
    state,
)

from switchboard.router.decision import decide, recipients_for
from switchboard.router.model import StaffAvailability, Subscription

# (case, settings overrides, picked reason, patient, expected recipients)
RECIPIENT_CASES = [
    # covers R-SUB-1: seed 000: a Manhattan patient asking for a refill reaches the MAs.
    (
        "Manhattan refill",
        {},
        "prescriptions_refills",
        patient(None, appointment(MANHATTAN)),
        ("ma-manhattan-1", "ma-manhattan-2"),
    ),
    # covers R-SUB-1: the same refill from Brooklyn matches no MA: location must match too.
    ("Brooklyn refill", {}, "prescriptions_refills", patient(BROOKLYN), ()),
    # covers R-SUB-1: Test / Lab Results at Manhattan, the MAs' other reason.
    (
        "Manhattan lab results",
        {},
        "test_lab_results",
        patient(MANHATTAN),
        ("ma-manhattan-1", "ma-manhattan-2"),
    ),
    # covers R-SUB-1: Billing from Queens: billing team only (front desk has no Queens).
    ("Queens billing", {}, "billing", patient(QUEENS), ("billing-1",)),
    # covers R-SUB-1: "Other" and "Location unknown" are buckets the front desk holds.
    ("no reason, no location", {}, None, patient(), ("front-desk",)),
    # covers R-SUB-1: reason routing only: location is not filtered.
    (
        "reason only, Brooklyn refill",
        {"location_routing": False},
        "prescriptions_refills",
        patient(BROOKLYN),
        ("ma-manhattan-1", "ma-manhattan-2"),
    ),
    # covers R-SUB-1: location routing only: every Manhattan subscriber, any topic.
    (
        "location only, Manhattan",
        {"reason_routing": False},
        "billing",
        patient(MANHATTAN),
        ("billing-1", "front-desk", "ma-manhattan-1", "ma-manhattan-2"),
    ),
    # covers R-SUB-1: provider too: only Dr Patel's MA for Dr Patel's patient.
    (
        "provider routing, Dr Patel",
        {"provider_routing": True},
        "test_lab_results",
        patient(None, appointment(MANHATTAN, DR_PATEL)),
        ("ma-manhattan-2",),
    ),
    # covers R-SUB-1: routing off (the product default): Unassigned only, nobody directly.
    (
        "everything off",
        {"reason_routing": False, "location_routing": False},
        "billing",
        patient(MANHATTAN),
        (),
    ),
]


@pytest.mark.parametrize(
    ("case", "overrides", "reason", "pat", "expected"),
    RECIPIENT_CASES,
    ids=[c[0] for c in RECIPIENT_CASES],
)
def test_recipients(case, overrides, reason, pat, expected):
    decision = decide(message(reason=reason), state(patient=pat), settings(**overrides), T0)
    assert decision.recipients == expected
    # covers R-SUB-2: and always Unassigned, first.
    assert decision.inboxes == ("unassigned",)


# covers R-SUB-1
def test_subscription_with_no_reasons_receives_nothing_when_reason_routing_is_on():
    only_location = Subscription("loc-only", locations={MANHATTAN})
    found = recipients_for(settings(), [only_location], "billing", MANHATTAN, None)
    assert found == ()
    assert recipients_for(
        settings(reason_routing=False), [only_location], "billing", MANHATTAN, None
    ) == ("loc-only",)


# covers R-SUB-1
def test_two_rows_for_one_person_yield_one_recipient():
    rows = [
        Subscription("ann", {"billing"}, {MANHATTAN}),
        Subscription("ann", {"billing", "other"}, {MANHATTAN, BROOKLYN}),
    ]
    assert recipients_for(settings(), rows, "billing", MANHATTAN, None) == ("ann",)


# covers R-SUB-1
def test_provider_unknown_is_a_bucket():
    subs = [Subscription("p", {"other"}, {"location_unknown"}, {"provider_unknown"})]
    s = settings(provider_routing=True)
    assert recipients_for(s, subs, "other", None, None) == ("p",)
    assert recipients_for(s, subs, "other", None, DR_LEE) == ()


# covers R-VOICEMAIL-1
def test_voicemail_extension_to_custom_shared_inbox_keeps_working():
    s = settings(voicemail_extensions={"5": "shared:refills", "3": "prescriptions_refills"})
    to_inbox = decide(message("voicemail", extension="5"), state(), s, T0)
    assert to_inbox.inboxes == ("unassigned", "shared:refills")
    assert "R-VOICEMAIL-1" in [r.rule for r in to_inbox.explanation]
    to_reason = decide(
        message("voicemail", extension="3"), state(patient=patient(MANHATTAN)), s, T0
    )
    assert to_reason.inboxes == ("unassigned",)
    assert to_reason.recipients == ("ma-manhattan-1", "ma-manhattan-2")
    # An extension only means something on a voicemail.
    web = decide(message("web_chat", extension="5"), state(), s, T0)
    assert web.inboxes == ("unassigned",)


# covers X-AVAIL-1
def test_away_recipients_are_flagged_and_all_away_is_an_orphan():
    pat = patient(None, appointment(MANHATTAN))
    one_away = state(patient=pat, availability={"ma-manhattan-1": StaffAvailability(away=True)})
    d = decide(message(reason="prescriptions_refills"), one_away, settings(), T0)
    assert d.recipients == ("ma-manhattan-1", "ma-manhattan-2")
    assert d.away_recipients == ("ma-manhattan-1",) and not d.orphan
    both_away = state(
        patient=pat,
        availability={s.staff_id: StaffAvailability(away=True) for s in (MA_1, MA_2)},
    )
    d = decide(message(reason="prescriptions_refills"), both_away, settings(), T0)
    assert d.orphan
    nobody = decide(
        message(reason="prescriptions_refills"), state(patient=patient(QUEENS)), settings(), T0
    )
    assert nobody.recipients == () and nobody.orphan


# covers R-SUB-1
def test_routing_off_is_not_an_orphan():
    s = settings(reason_routing=False, location_routing=False)
    assert not decide(message(), state(), s, T0).orphan
