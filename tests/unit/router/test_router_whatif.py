"""Replaying past messages against a proposed routing change (X-WHATIF-1)."""

from __future__ import annotations

from dataclasses import replace

from router_builders import (
    BILLING,
    BROOKLYN,
    FRONT_DESK,
    HOUR,
    MA_1,
    MA_2,
    MANHATTAN,
    T0,
    message,
    patient,
    settings,
    state,
)

from switchboard.router.whatif import StaffChange, what_if

TEAM = (MA_1, MA_2, FRONT_DESK, BILLING)


def history():
    """Three Manhattan refills, two Brooklyn refills, one Brooklyn billing question."""
    rows = []
    for n, (reason, loc) in enumerate(
        [
            ("prescriptions_refills", MANHATTAN),
            ("prescriptions_refills", MANHATTAN),
            ("prescriptions_refills", MANHATTAN),
            ("prescriptions_refills", BROOKLYN),
            ("prescriptions_refills", BROOKLYN),
            ("billing", BROOKLYN),
        ]
    ):
        msg = message(reason=reason, at=T0 + n * HOUR, n=n)
        rows.append((msg, state(subscriptions=TEAM, patient=patient(loc))))
    return rows


# covers X-WHATIF-1
def test_subscribing_an_ma_to_brooklyn():
    ma1_both = replace(MA_1, locations=MA_1.locations | {BROOKLYN})
    proposed_subs = (ma1_both, MA_2, FRONT_DESK, BILLING)
    report = what_if(history(), settings(), settings(), None, proposed_subs)
    assert report.messages == 6 and report.changed == 2
    staff = {c.staff_id: c for c in report.staff}
    assert staff["ma-manhattan-1"] == StaffChange("ma-manhattan-1", 3, 5, 2, 0)
    assert staff["ma-manhattan-2"] == StaffChange("ma-manhattan-2", 3, 3, 0, 0)
    assert staff["billing-1"] == StaffChange("billing-1", 1, 1, 0, 0)
    # Today the Brooklyn refills reach only Unassigned; with the change, none do.
    assert report.unassigned_only_before == {("prescriptions_refills", BROOKLYN): 2}
    assert report.unassigned_only_after == {}


# covers X-WHATIF-1
def test_turning_location_routing_off():
    report = what_if(history(), settings(), settings(location_routing=False, version=8))
    staff = {c.staff_id: c for c in report.staff}
    # Without the location filter the MAs get every refill, Brooklyn ones included.
    assert staff["ma-manhattan-1"] == StaffChange("ma-manhattan-1", 3, 5, 2, 0)
    assert staff["ma-manhattan-2"] == StaffChange("ma-manhattan-2", 3, 5, 2, 0)
    assert report.unassigned_only_after == {}


# covers X-WHATIF-1
def test_unsubscribing_everyone_from_billing_shows_what_would_be_orphaned():
    no_billing = (MA_1, MA_2, replace(FRONT_DESK, reasons=FRONT_DESK.reasons - {"billing"}))
    report = what_if(history(), settings(), settings(), None, no_billing)
    staff = {c.staff_id: c for c in report.staff}
    assert staff["billing-1"] == StaffChange("billing-1", 1, 0, 0, 1)
    assert report.unassigned_only_after == {
        ("prescriptions_refills", BROOKLYN): 2,
        ("billing", BROOKLYN): 1,
    }


# covers X-WHATIF-1
def test_no_change_changes_nothing():
    report = what_if(history(), settings(), settings())
    assert report.changed == 0
    assert all(c.gained == 0 and c.lost == 0 and c.before == c.after for c in report.staff)
    assert report.unassigned_only_before == report.unassigned_only_after
