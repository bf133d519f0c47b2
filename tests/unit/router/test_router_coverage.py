"""Routing coverage check (X-COVERAGE-1)."""

from __future__ import annotations

from router_builders import BROOKLYN, DR_LEE, DR_PATEL, MA_1, MANHATTAN, QUEENS, TEAM, settings

from switchboard.router.coverage import Gap, coverage_gaps
from switchboard.router.model import Subscription

LOCATIONS = [MANHATTAN, BROOKLYN, QUEENS]


# covers X-COVERAGE-1
def test_seed_team_gaps_by_reason_and_location():
    gaps = set(coverage_gaps(settings(), TEAM, LOCATIONS))
    # The MAs cover refills and lab results at Manhattan only.
    for reason in ("prescriptions_refills", "test_lab_results"):
        assert Gap(reason, MANHATTAN, None) not in gaps
        for loc in (BROOKLYN, QUEENS, "location_unknown"):
            assert Gap(reason, loc, None) in gaps
    # The front desk covers Other at Manhattan, Brooklyn and Location unknown, not Queens.
    assert Gap("other", QUEENS, None) in gaps
    assert Gap("other", "location_unknown", None) not in gaps
    # Billing is covered everywhere by the billing team.
    assert not any(g.reason == "billing" for g in gaps)
    # Medical Question has no subscriber: it is hidden from patients, so no warning.
    assert not any(g.reason == "medical_question" for g in gaps)


# covers X-COVERAGE-1
def test_voicemail_mapped_reason_is_checked_even_when_hidden():
    s = settings(voicemail_extensions={"4": "medical_question"})
    gaps = coverage_gaps(s, [MA_1], [MANHATTAN])
    assert Gap("medical_question", MANHATTAN, None) in gaps


# covers X-COVERAGE-1
def test_provider_dimension_and_away_staff():
    s = settings(provider_routing=True)
    gaps = coverage_gaps(s, [MA_1], [MANHATTAN], [DR_LEE, DR_PATEL])
    assert Gap("prescriptions_refills", MANHATTAN, DR_PATEL) in gaps
    assert Gap("prescriptions_refills", MANHATTAN, DR_LEE) not in gaps
    assert Gap("prescriptions_refills", MANHATTAN, "provider_unknown") in gaps
    # With the only subscriber away, their combination is a gap too.
    away = coverage_gaps(s, [MA_1], [MANHATTAN], [DR_LEE], away={"ma-manhattan-1"})
    assert Gap("prescriptions_refills", MANHATTAN, DR_LEE) in away


# covers X-COVERAGE-1
def test_disabled_dimensions_collapse():
    reason_only = coverage_gaps(settings(location_routing=False), [MA_1], LOCATIONS)
    # Other is always offered; nobody takes it.
    assert reason_only == (Gap("other", None, None),)
    only_loc = [Subscription("desk", locations={MANHATTAN})]
    gaps = coverage_gaps(settings(reason_routing=False), only_loc, LOCATIONS)
    assert gaps == (
        Gap(None, BROOKLYN, None),
        Gap(None, QUEENS, None),
        Gap(None, "location_unknown", None),
    )


# covers X-COVERAGE-1
def test_nothing_to_warn_about_when_routing_is_off():
    assert (
        coverage_gaps(settings(reason_routing=False, location_routing=False), [], LOCATIONS) == ()
    )


# covers X-COVERAGE-1, I-COVERAGE-1
def test_coverage_state_in_every_state():
    from router_builders import FRONT_DESK

    from switchboard.router.coverage import coverage_state, subscribers
    from switchboard.router.model import RoutingSettings

    off = RoutingSettings(practice_id="p", version=1)
    # Routing off: everything goes to Unassigned by design: said, never "all covered".
    assert coverage_state(off, TEAM, coverage_gaps(off, TEAM, LOCATIONS)) == "routing_off"
    # Routing on and nobody subscribed to anything it uses: a warning, whatever the gaps say.
    only_inbox = [Subscription("desk", inboxes={"unassigned"})]
    on = settings()
    assert subscribers(on, only_inbox) == 0
    assert coverage_state(on, only_inbox, coverage_gaps(on, only_inbox, LOCATIONS)) == (
        "nobody_subscribed"
    )
    assert coverage_state(on, [], ()) == "nobody_subscribed"
    # A subscription that lacks a dimension routing uses can never receive anything.
    reasons_only = [Subscription("ma", reasons={"billing"})]
    assert coverage_state(on, reasons_only, ()) == "nobody_subscribed"
    # Some combinations nobody receives.
    assert coverage_state(on, TEAM, coverage_gaps(on, TEAM, LOCATIONS)) == "gaps"
    # Everything covered.
    everywhere = settings(location_routing=False)
    desk = [FRONT_DESK]
    assert coverage_gaps(everywhere, desk, LOCATIONS) == ()
    assert coverage_state(everywhere, desk, ()) == "covered"
    assert subscribers(everywhere, desk) == 1
