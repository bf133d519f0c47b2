"""Whether a staff member is away at a moment (X-AVAIL-1), for auto-assignment. Pure.

Away while out of office, or outside every shift window of their weekly schedule (local to
the practice's timezone); no windows means no schedule, so always on shift.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True, slots=True)
class Shift:
    weekday: int  # 0 = Monday
    start: str  # "HH:MM"
    end: str  # "HH:MM" or "24:00"

    def contains(self, local: datetime) -> bool:
        if local.weekday() != self.weekday:
            return False
        now = local.time()
        start = time.fromisoformat(self.start)
        return now >= start and (self.end == "24:00" or now < time.fromisoformat(self.end))


@dataclass(frozen=True, slots=True)
class Availability:
    out_of_office_from: datetime | None = None
    out_of_office_until: datetime | None = None
    shifts: tuple[Shift, ...] = ()

    def away(self, at: datetime, timezone: str) -> bool:
        if self.out_of_office_from is not None or self.out_of_office_until is not None:
            started = self.out_of_office_from is None or at >= self.out_of_office_from
            ended = self.out_of_office_until is not None and at >= self.out_of_office_until
            if started and not ended:
                return True
        if not self.shifts:
            return False
        try:
            local = at.astimezone(ZoneInfo(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            local = at
        return not any(shift.contains(local) for shift in self.shifts)
