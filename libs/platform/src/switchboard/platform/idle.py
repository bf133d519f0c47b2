"""How long a polling loop (an outbox dispatcher, the timer loop) sleeps after a round that
found nothing. Pure: the loops pass the monotonic time.

While work was seen lately it polls at its interval; after `quiet_s` without any it polls
`stretch` times less often (issue 17: an idle service costs almost nothing). A loop is woken
the moment its own consumer commits rows, so the interval only bounds how late other work
is seen: a retry or a pause that ends (which the loop itself schedules and tells the pacer,
so it is never late), a timer coming due (the timer loop tells it), rows a crashed replica
left behind. Starting counts as work: a restarted process sweeps up after its predecessor
at the short interval.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

# Due times kept; beyond it the latest are dropped (the loop still polls at its interval).
MAX_DUE = 1024


@dataclass
class IdlePacer:
    poll_s: float
    started_at: float
    stretch: float = 10.0
    quiet_s: float = 60.0

    def __post_init__(self) -> None:
        self.last_work = self.started_at
        self._due: list[float] = []  # a heap of the times work is known to come due

    def worked(self, now: float) -> None:
        """Rows were claimed, or the loop was woken because rows were committed."""
        self.last_work = now

    def due_in(self, seconds: float, now: float) -> None:
        """Work is known to come due `seconds` from now (a retry, the end of a pause, a
        timer)."""
        heapq.heappush(self._due, now + max(0.0, seconds))
        if len(self._due) > MAX_DUE:
            self._due = heapq.nsmallest(MAX_DUE // 2, self._due)

    def quiet(self, now: float) -> bool:
        return now - self.last_work >= self.quiet_s

    def interval(self, base_s: float, now: float) -> float:
        """`base_s` while busy lately, `stretch` times it when quiet."""
        return base_s * self.stretch if self.quiet(now) else base_s

    def sleep_s(self, now: float) -> float:
        """The sleep after a round that found nothing: never past the soonest known due
        time (due times already passed were that round's to take: forgotten)."""
        while self._due and self._due[0] <= now:
            heapq.heappop(self._due)
        sleep = self.interval(self.poll_s, now)
        if self._due:
            sleep = min(sleep, self._due[0] - now)
        return sleep
