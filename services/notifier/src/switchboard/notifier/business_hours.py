"""Business-hours arithmetic in a practice's timezone (X-SLA-1). Pure and deterministic.

A calendar is weekly windows of local time (Monday = 0) plus holidays (local dates). A
response target of N business minutes after time t is the instant when N minutes of open
time have passed since t: the count pauses outside the windows, on weekends without
windows, and on holidays. Durations are measured in real elapsed time (UTC), so a window on
a daylight-saving day is as long as it really is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from switchboard.rules.availability import zone

# Far enough ahead for any sensible target; a calendar with no open time at all ends here.
SEARCH_DAYS = 3 * 366

Window = tuple[time, time | None]  # end None = midnight (24:00)


def parse_hhmm(value: str) -> time | None:
    """'08:30' -> time(8, 30); '24:00' -> None (the end of the day)."""
    if value == "24:00":
        return None
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class BusinessCalendar:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    # weekday -> windows, sorted; an empty mapping means open around the clock.
    weekly: dict[int, tuple[Window, ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    @classmethod
    def build(
        cls,
        timezone: str = "UTC",
        windows: Iterable[tuple[int, str, str]] = (),
        holidays: Iterable[date] = (),
    ) -> BusinessCalendar:
        weekly: dict[int, list[Window]] = {}
        for weekday, start, end in windows:
            s = parse_hhmm(start)
            e = parse_hhmm(end)
            if s is None or (e is not None and e <= s):
                continue  # an empty or inverted window counts for nothing
            weekly.setdefault(weekday, []).append((s, e))
        return cls(
            tz=zone(timezone),
            weekly={d: tuple(sorted(ws)) for d, ws in weekly.items()},
            holidays=frozenset(holidays),
        )

    @property
    def around_the_clock(self) -> bool:
        return not self.weekly

    def open_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open intervals of one local date, as UTC instants, in order."""
        if day in self.holidays:
            return []
        windows = (
            ((time(0), None),) if self.around_the_clock else self.weekly.get(day.weekday(), ())
        )
        out = []
        for start, end in windows:
            s = datetime.combine(day, start, tzinfo=self.tz).astimezone(UTC)
            e = (
                datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
                if end is None
                else datetime.combine(day, end, tzinfo=self.tz)
            ).astimezone(UTC)
            if e > s:
                out.append((s, e))
        return out

    def intervals_from(self, t: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals that end after `t`, clipped to start no earlier than `t`."""
        t = t.astimezone(UTC)
        first = t.astimezone(self.tz).date() - timedelta(days=1)
        for i in range(SEARCH_DAYS):
            for s, e in self.open_intervals(first + timedelta(days=i)):
                if e <= t:
                    continue
                yield max(s, t), e

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        """The instant `minutes` of open time after `start` (UTC). Raises ValueError when the
        calendar has no open time within SEARCH_DAYS."""
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        remaining = timedelta(minutes=minutes)
        if remaining <= timedelta(0):
            return start.astimezone(UTC)
        for s, e in self.intervals_from(start):
            if e - s >= remaining:
                return s + remaining
            remaining -= e - s
        raise ValueError("no business hours in the calendar")

    def business_minutes_between(self, a: datetime, b: datetime) -> float:
        """Open minutes in [a, b); 0 when b <= a."""
        if b <= a:
            return 0.0
        total = timedelta(0)
        for s, e in self.intervals_from(a):
            if s >= b:
                break
            total += min(e, b) - s
        return total.total_seconds() / 60

    def is_open(self, t: datetime) -> bool:
        t = t.astimezone(UTC)
        local_day = t.astimezone(self.tz).date()
        return any(
            s <= t < e
            for d in (local_day - timedelta(days=1), local_day)
            for s, e in self.open_intervals(d)
        )
