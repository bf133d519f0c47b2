"""Business-hours arithmetic: the response-timer clock pauses outside hours, over weekends
and on holidays, in the practice's timezone (X-SLA-1)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.notifier.business_hours import BusinessCalendar

NY = ZoneInfo("America/New_York")
WEEKDAYS_9_TO_5 = [(d, "09:00", "17:00") for d in range(5)]
# Friday 3 July 2026 is the observed Independence Day holiday in this calendar.
JULY_3 = date(2026, 7, 3)


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


def calendar(holidays=()) -> BusinessCalendar:
    return BusinessCalendar.build("America/New_York", WEEKDAYS_9_TO_5, holidays)


# covers X-SLA-1
def test_within_one_day():
    assert calendar().add_business_minutes(ny(2026, 6, 3, 10, 0), 60) == ny(2026, 6, 3, 11, 0)


# covers X-SLA-1
def test_pauses_overnight():
    # Wednesday 16:30 + 60 business minutes = Thursday 09:30
    due = calendar().add_business_minutes(ny(2026, 6, 3, 16, 30), 60)
    assert due == ny(2026, 6, 4, 9, 30)


# covers X-SLA-1
def test_pauses_over_the_weekend():
    # Friday 16:55 (the seed's "16:55 on Friday") + 30 min = Monday 09:25
    due = calendar().add_business_minutes(ny(2026, 6, 5, 16, 55), 30)
    assert due == ny(2026, 6, 8, 9, 25)
    assert due.astimezone(NY).weekday() == 0


# covers X-SLA-1
def test_message_on_saturday_starts_counting_monday():
    due = calendar().add_business_minutes(ny(2026, 6, 6, 11, 0), 15)
    assert due == ny(2026, 6, 8, 9, 15)


# covers X-SLA-1
def test_holiday_then_weekend():
    # Thursday 2 July 16:00 + 120 min: 60 on Thursday, Friday 3 July is a holiday, the
    # weekend is closed, the other 60 on Monday 6 July.
    due = calendar([JULY_3]).add_business_minutes(ny(2026, 7, 2, 16, 0), 120)
    assert due == ny(2026, 7, 6, 10, 0)
    without_holiday = calendar().add_business_minutes(ny(2026, 7, 2, 16, 0), 120)
    assert without_holiday == ny(2026, 7, 3, 10, 0)


# covers X-SLA-1
def test_target_longer_than_a_day_spans_several_days():
    # 8 hours a day: 20 business hours from Monday 09:00 = Wednesday 13:00
    assert calendar().add_business_minutes(ny(2026, 6, 8, 9, 0), 20 * 60) == ny(2026, 6, 10, 13, 0)


# covers X-SLA-1
def test_split_shift_with_lunch_break():
    cal = BusinessCalendar.build(
        "America/New_York",
        [(d, "08:00", "12:00") for d in range(5)] + [(d, "13:00", "17:00") for d in range(5)],
    )
    assert cal.add_business_minutes(ny(2026, 6, 3, 11, 45), 30) == ny(2026, 6, 3, 13, 15)
    assert not cal.is_open(ny(2026, 6, 3, 12, 30))
    assert cal.is_open(ny(2026, 6, 3, 13, 0))


# covers X-SLA-1
def test_the_practice_timezone_decides_not_utc():
    # 21:30 UTC on a Wednesday in June is 17:30 in New York: closed until Thursday 09:00.
    start = datetime(2026, 6, 3, 21, 30, tzinfo=UTC)
    due = calendar().add_business_minutes(start, 10)
    assert due == ny(2026, 6, 4, 9, 10)
    tokyo = BusinessCalendar.build("Asia/Tokyo", WEEKDAYS_9_TO_5)
    # The same instant is Thursday 06:30 in Tokyo: opens 09:00 the same day.
    assert tokyo.add_business_minutes(start, 10) == datetime(
        2026, 6, 4, 9, 10, tzinfo=ZoneInfo("Asia/Tokyo")
    )


# covers X-SLA-1
def test_daylight_saving_change_weekend_is_handled_in_local_time():
    # Clocks go forward on Sunday 8 March 2026 in New York: Friday 16:30 EST + 60 min
    # = Monday 09:30 EDT, which is 13:30 UTC (not 14:30).
    due = calendar().add_business_minutes(ny(2026, 3, 6, 16, 30), 60)
    assert due == ny(2026, 3, 9, 9, 30)
    assert due == datetime(2026, 3, 9, 13, 30, tzinfo=UTC)


# covers X-SLA-1
def test_no_windows_means_around_the_clock_but_holidays_still_close():
    cal = BusinessCalendar.build("UTC", (), [date(2026, 12, 25)])
    start = datetime(2026, 12, 24, 23, 0, tzinfo=UTC)
    assert cal.add_business_minutes(start, 120) == datetime(2026, 12, 26, 1, 0, tzinfo=UTC)


def test_a_calendar_with_no_open_time_raises():
    closed = BusinessCalendar(weekly={0: ()})
    with pytest.raises(ValueError):
        closed.add_business_minutes(datetime(2026, 1, 1, tzinfo=UTC), 1)


def test_naive_start_is_refused():
    with pytest.raises(ValueError):
        calendar().add_business_minutes(datetime(2026, 1, 1), 1)


def test_until_midnight_window():
    cal = BusinessCalendar.build("UTC", [(2, "22:00", "24:00"), (3, "00:00", "02:00")])
    start = datetime(2026, 6, 3, 23, 0, tzinfo=UTC)  # Wednesday
    assert cal.add_business_minutes(start, 90) == datetime(2026, 6, 4, 0, 30, tzinfo=UTC)


# covers X-SLA-1
@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    minutes=st.integers(min_value=1, max_value=5000),
)
def test_deadline_is_exactly_n_open_minutes_later_and_never_outside_hours(start, minutes):
    cal = calendar([JULY_3, date(2026, 12, 25)])
    due = cal.add_business_minutes(start, minutes)
    assert due > start
    assert cal.business_minutes_between(start, due) == pytest.approx(minutes)
    # The deadline lands inside open time (or exactly at a closing time).
    assert cal.is_open(due - timedelta(seconds=1))
