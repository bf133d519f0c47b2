"""Readiness that follows its dependencies back up.

A background loop (a consumer, a dispatcher, a poller) that failed on an unavailable
dependency backs off before retrying, up to many seconds; its "not ready" flag was only
cleared by that next retry, so /readyz stayed stale long after the database was back.
Loops sleep on a `Backoff` instead, and their readiness check wakes them (`Recheck`): the
retry happens when asked, at most once per `every_s`, and the check waits a moment for its
outcome, so one probe after a dependency came back already answers ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable

# How often a readiness probe may make a failing loop retry now, and how long the probe
# waits for that retry's outcome (below a kubelet probe's default 1 s timeout).
RECHECK_EVERY_S = 1.0
RECHECK_WAIT_S = 0.8


class Backoff:
    """An interruptible sleep: `wake()` ends the current (or the next) wait early."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout=seconds)
        self._event.clear()

    def wake(self) -> None:
        self._event.set()


class Recheck:
    """For a readiness check over loops that report `ready`: wake the unready ones (at most
    once per `every_s`) so they retry their dependency now, then wait up to `wait_s` for
    them to be ready again."""

    def __init__(self, every_s: float = RECHECK_EVERY_S, wait_s: float = RECHECK_WAIT_S) -> None:
        self.every_s = every_s
        self.wait_s = wait_s
        self._woken_at = float("-inf")

    async def __call__(
        self, is_ready: Callable[[], bool], wake: Iterable[Callable[[], None]]
    ) -> bool:
        if is_ready():
            return True
        now = time.monotonic()
        if now - self._woken_at < self.every_s:
            return False
        self._woken_at = now
        for w in wake:
            w()
        deadline = now + self.wait_s
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            if is_ready():
                return True
        return False
