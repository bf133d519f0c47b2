"""The reports' figures (pure): nearest-rank percentiles, local-day periods and the previous
one, volume by local hour and weekday, the SLA share, unanswered ages, CSV."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.gateway.report_figures import (
    ConversationFacts,
    PracticeTargets,
    age_buckets,
    breakdown,
    compare,
    percentile,
    period,
    report,
    sla_outcome,
    to_csv,
    volume,
)

T0 = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
values = st.lists(st.integers(0, 10**7), min_size=1, max_size=200)
ps = st.floats(min_value=0.5, max_value=100)


@given(values, ps)
def test_a_percentile_is_a_value_with_at_least_p_percent_at_or_below(xs, p):
    # covers X-REPORT-4
    v = percentile(xs, p)
    assert v in xs
    assert sum(x <= v for x in xs) >= p / 100 * len(xs)
    # and the smallest such value: fewer than p% lie strictly below it
    assert sum(x < v for x in xs) < p / 100 * len(xs)


@given(values, ps, ps)
def test_percentiles_grow_with_p(xs, p, q):
    lo, hi = sorted((p, q))
    assert percentile(xs, lo) <= percentile(xs, hi)


@given(values, st.permutations(list(range(5))))
def test_percentiles_ignore_order(xs, _):
    assert percentile(xs, 90) == percentile(list(reversed(xs)), 90)
    assert percentile(xs, 100) == max(xs)


def test_known_percentiles():
    assert percentile([], 50) is None
    assert percentile([5], 90) == 5
    assert percentile([1, 2, 3, 4], 50) == 2
    assert percentile(list(range(1, 11)), 90) == 9
    assert percentile(list(range(1, 11)), 91) == 10


@given(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    st.integers(0, 90),
    st.sampled_from(["UTC", "America/New_York", "Europe/Paris", "Australia/Lord_Howe"]),
)
def test_the_previous_period_is_as_many_days_just_before(first, days, tz):
    # covers X-REPORT-6
    p = period(first, first + timedelta(days=days), tz)
    before = p.previous(tz)
    assert before.end == p.start
    assert (before.last_day - before.first_day) == (p.last_day - p.first_day)
    assert before.last_day == p.first_day - timedelta(days=1)
    # whole local days: each end is local midnight
    for at in (p.start, p.end, before.start):
        assert (at.hour, at.minute) == (0, 0)


def test_a_period_is_local_days():
    p = period(date(2026, 11, 2), date(2026, 11, 2), "America/New_York")
    assert p.start == datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
    assert datetime(2026, 11, 3, 4, 59, tzinfo=UTC) in p
    assert datetime(2026, 11, 3, 5, 0, tzinfo=UTC) not in p
    with pytest.raises(ValueError):
        period(date(2026, 11, 2), date(2026, 11, 1), "UTC")


def test_volume_counts_local_hours_and_weekdays():
    # Monday 2026-11-02 03:30 UTC is Sunday 22:30 in New York
    v = volume([datetime(2026, 11, 2, 3, 30, tzinfo=UTC)] * 2, "America/New_York")
    assert v["messages"] == 2 and v["by_hour"][22] == 2 and v["by_weekday"][6] == 2
    assert v["grid"][6][22] == 2 and sum(map(sum, v["grid"])) == 2


def facts(i: int, **kw) -> ConversationFacts:
    return ConversationFacts(conversation_id=str(i), opened_at=kw.pop("opened_at", T0), **kw)


def test_sla_outcomes():
    # covers X-REPORT-5
    t = PracticeTargets("UTC", None, {"refill": 60})
    answered = T0 + timedelta(minutes=30)
    late = T0 + timedelta(minutes=90)
    assert sla_outcome(facts(1, reason="billing", first_response_at=answered), t) is None
    assert sla_outcome(facts(2, reason="refill", first_response_at=answered), t) == "within"
    assert sla_outcome(facts(3, reason="refill"), t) == "pending"
    esc = T0 + timedelta(seconds=2)
    assert sla_outcome(facts(4, reason="refill", escalation_started_at=esc), t) == "breached"
    breached = facts(5, reason="refill", first_response_at=late, escalation_started_at=esc)
    assert sla_outcome(breached, t) == "breached"
    # an escalation of a later burst does not make the first response late
    later = facts(6, reason="refill", first_response_at=answered, escalation_started_at=late)
    assert sla_outcome(later, t) == "within"


def test_unanswered_ages():
    # covers X-REPORT-7
    now = T0 + timedelta(days=10)
    ages = [timedelta(minutes=5), timedelta(hours=2), timedelta(hours=5), timedelta(days=2)]
    buckets = age_buckets([now - a for a in [*ages, timedelta(days=4), timedelta(days=9)]], now)
    assert [b["conversations"] for b in buckets] == [1, 1, 1, 1, 2]


def test_breakdown_by_staff_counts_who_responded_and_who_closed():
    c = [
        facts(
            1,
            first_response_at=T0 + timedelta(minutes=10),
            responder="a",
            closed_at=T0 + timedelta(hours=1),
            closed_by="b",
        ),
        facts(2, first_response_at=T0 + timedelta(minutes=30), responder="a"),
        facts(3),
    ]
    rows = {r["key"]: r for r in breakdown(c, "staff")}
    assert rows["a"]["conversations"] == 2
    assert rows["a"]["first_response"] == {"count": 2, "p50": 600, "p90": 1800}
    assert rows["b"]["time_to_close"]["p50"] == 3600 and rows["b"]["conversations"] == 0
    by_reason = breakdown(c, "reason")
    assert by_reason == [
        {
            "key": "(none)",
            "conversations": 3,
            "first_response": {"count": 2, "p50": 600, "p90": 1800},
            "time_to_close": {"count": 1, "p50": 3600, "p90": 3600},
        }
    ]


@given(st.integers(0, 50), st.integers(0, 50))
def test_comparison_is_the_difference(a, b):
    def fig(n):
        return {
            "conversations": n,
            "volume": {"messages": 2 * n},
            "first_response": {"p50": n or None, "p90": None},
            "time_to_close": {"p50": None, "p90": None},
            "sla": {"share": None},
        }

    rows = {r["figure"]: r for r in compare(fig(a), fig(b))}
    assert rows["conversations"]["change"] == a - b
    assert rows["messages"]["change"] == 2 * (a - b)
    assert rows["first_response_p50_s"]["change"] == (a - b if a and b else None)
    assert rows["sla_share"]["change"] is None


def test_report_splits_periods_and_writes_csv():
    t = PracticeTargets("UTC", 60)
    p = period(date(2026, 11, 9), date(2026, 11, 15), "UTC")
    inside = T0 + timedelta(days=7)
    convs = [
        facts(1, opened_at=inside, first_response_at=inside + timedelta(minutes=5), reason="=x"),
        facts(2, opened_at=T0, first_response_at=T0 + timedelta(minutes=50)),
        facts(3, opened_at=T0 - timedelta(days=1)),  # before both periods
    ]
    r = report(convs, [inside, T0, T0], [], t, p, inside + timedelta(days=1))
    assert r["current"]["conversations"] == 1 and r["previous"]["conversations"] == 1
    assert r["current"]["volume"]["messages"] == 1 and r["previous"]["volume"]["messages"] == 2
    assert r["current"]["first_response"]["p50"] == 300
    assert r["previous"]["first_response"]["p50"] == 3000
    rows = list(csv.reader(io.StringIO(to_csv(r))))
    assert rows[0] == ["period", "section", "dimension", "key", "measure", "value"]
    assert ["current", "headline", "", "", "first_response_p50_s", "300"] in rows
    # no formula reaches a spreadsheet
    assert all(not cell.startswith("=") for row in rows for cell in row)
    assert math.isclose(r["current"]["sla"]["share"], 1.0)
