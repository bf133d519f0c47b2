"""Whether a staff member is away (X-AVAIL-1): one rule for the router's auto-assignment
(X-BALANCE-1) and the notifier's substitutes."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from switchboard.events import StaffAvailabilityChanged, WeeklyWindow
from switchboard.notifier.model import StaffProfile
from switchboard.router.practice_config import PracticeConfig
from switchboard.rules.availability import Availability, Shift, zone

MONDAY = datetime(2026, 12, 7, tzinfo=UTC)  # a Monday
NY = "America/New_York"  # UTC-5 in December

instants = st.integers(0, 14 * 24 * 60).map(lambda m: MONDAY + timedelta(minutes=m))
hhmm = st.sampled_from(["00:00", "06:30", "09:00", "12:00", "17:00", "23:59", "24:00"])
shifts = st.builds(Shift, st.integers(0, 6), hhmm, hhmm)
zones = st.sampled_from(["UTC", NY, "Europe/Berlin", "Not/AZone"])


def ooo(a, b):
    return Availability(out_of_office_from=a, out_of_office_until=b)


# covers X-AVAIL-1
@given(instants, zones)
def test_no_schedule_and_no_absence_is_never_away(at, tz):
    assert not Availability().away(at, tz)


# covers X-AVAIL-1
@given(instants, instants, instants)
def test_out_of_office_from_inclusive_until_exclusive(a, b, at):
    start, end = min(a, b), max(a, b)
    assert ooo(start, end).away(at, "UTC") == (start <= at < end)
    assert ooo(start, None).away(at, "UTC") == (at >= start)
    assert ooo(None, end).away(at, "UTC") == (at < end)


# covers X-AVAIL-1
def test_shifts_are_read_on_the_practice_clock():
    nine_to_five_monday = Availability(shifts=(Shift(0, "09:00", "17:00"),))
    assert nine_to_five_monday.away(MONDAY + timedelta(hours=13, minutes=59), NY)
    assert not nine_to_five_monday.away(MONDAY + timedelta(hours=14), NY)  # 09:00 in NY
    assert nine_to_five_monday.away(MONDAY + timedelta(hours=22), NY)  # 17:00 in NY
    assert nine_to_five_monday.away(MONDAY + timedelta(hours=10), "Not/AZone") is False  # UTC


def test_a_window_to_midnight_and_an_inverted_window():
    late = Availability(shifts=(Shift(0, "18:00", "24:00"),))
    assert not late.away(MONDAY + timedelta(hours=23, minutes=59, seconds=59), "UTC")
    assert late.away(MONDAY + timedelta(days=1), "UTC")  # Tuesday 00:00
    # A schedule of windows that end before they start is never on shift (not "no schedule").
    inverted = Availability(shifts=(Shift(0, "17:00", "09:00"),))
    assert all(inverted.away(MONDAY + timedelta(hours=h), "UTC") for h in range(24 * 7))


@given(st.lists(shifts, min_size=1, max_size=4), instants, zones)
def test_away_is_outside_every_window(ws, at, tz):
    a = Availability(shifts=tuple(ws))
    inside = [s.contains(at.astimezone(zone(tz))) for s in ws]
    assert a.away(at, tz) == (not any(inside))
    assert a.available(at, tz) == any(inside)


@given(instants, zones)
def test_a_week_of_whole_days_is_always_on_shift(at, tz):
    assert not Availability(shifts=tuple(Shift(d, "00:00", "24:00") for d in range(7))).away(at, tz)


# covers X-AVAIL-1, X-BALANCE-1
@given(
    st.lists(st.builds(WeeklyWindow, weekday=st.integers(0, 6), start=hhmm, end=hhmm), max_size=3),
    st.one_of(st.none(), instants),
    st.one_of(st.none(), instants),
    instants,
    zones,
)
def test_the_router_and_the_notifier_agree_on_who_is_away(windows, start, end, at, tz):
    event = StaffAvailabilityChanged(
        event_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
        occurred_at=MONDAY,
        practice_id="demo",
        actor="u-admin",
        staff_id="u-1",
        out_of_office_from=start,
        out_of_office_until=end,
        shifts=tuple(windows),
    )
    router = replace(PracticeConfig.initial("demo").apply(event), timezone=tz)
    notifier = StaffProfile.build("u-1", None, event, tz)
    assert ("u-1" in router.away_at(at)) == (not notifier.availability.available(at))
