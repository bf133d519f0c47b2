"""Whether a staff member is away at a moment (X-AVAIL-1). Pure.

The router never auto-assigns to someone away (X-BALANCE-1) and the notifier sends their
alerts to a substitute: both ask this one rule, with the practice's timezone.

Away while out of office (`from <= t < until`, either end may be open), or outside every
shift window of their weekly schedule, read on the practice's local wall clock. No windows
means no schedule, so always on shift; a window that is empty or ends before it starts
counts for nothing (a schedule made only of such windows is never on shift). An unknown
timezone reads as UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def minute_of_day(hhmm: str) -> int:
    """'08:30' -> 510; '24:00' -> 1440 (the end of the day)."""
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def zone(name: str) -> ZoneInfo:
    """The zone, or UTC when the name is unknown to this machine's tz database."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class Shift:
    weekday: int  # 0 = Monday
    start: str  # "HH:MM"
    end: str  # "HH:MM" or "24:00"; windows never cross midnight (use two)

    def contains(self, local: datetime) -> bool:
        if local.weekday() != self.weekday:
            return False
        now = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 6e7
        return minute_of_day(self.start) <= now < minute_of_day(self.end)


@dataclass(frozen=True, slots=True)
class Availability:
    out_of_office_from: datetime | None = None
    out_of_office_until: datetime | None = None
    shifts: tuple[Shift, ...] = ()

    def out_of_office(self, at: datetime) -> bool:
        if self.out_of_office_from is None and self.out_of_office_until is None:
            return False
        started = self.out_of_office_from is None or at >= self.out_of_office_from
        ended = self.out_of_office_until is not None and at >= self.out_of_office_until
        return started and not ended

    def on_shift(self, at: datetime, timezone: str) -> bool:
        if not self.shifts:
            return True
        local = at.astimezone(zone(timezone))
        return any(shift.contains(local) for shift in self.shifts)

    def away(self, at: datetime, timezone: str) -> bool:
        return self.out_of_office(at) or not self.on_shift(at, timezone)

    def available(self, at: datetime, timezone: str) -> bool:
        return not self.away(at, timezone)
