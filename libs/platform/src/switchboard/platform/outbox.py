"""The run loop of an outbox dispatcher: claim due rows and send them, sweep what a crash
left unreported, back off on errors, sleep until woken or the poll interval passes. The
consumer that writes a loop's rows wakes it after its batch committed (Runtime.on_commit),
so the poll interval only bounds how late rows from elsewhere are seen. A subclass that
schedules a retry or a pause says when (`due_in`), and after a quiet minute the loop polls ten
times less often (platform/idle.py: an idle service costs almost nothing).

Subclasses give `claim_and_send` (how many rows it claimed), `report_unreported`, and how
long to wait for in-flight sends at shutdown; `close` releases their clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from switchboard.platform.consumer import is_transient
from switchboard.platform.idle import IdlePacer
from switchboard.platform.logging import get_logger
from switchboard.platform.settings import ServiceSettings

log = get_logger(__name__)

SWEEP_EVERY_S = 5.0


class OutboxLoop:
    def __init__(
        self,
        settings: ServiceSettings,
        poll_s: float,
        drain_timeout_s: float,
        idle_stretch: float = 10.0,
    ) -> None:
        self.loop_settings = settings
        self.poll_s = poll_s
        self.drain_timeout_s = drain_timeout_s
        self.tasks: set[asyncio.Task[None]] = set()
        self.pacer = IdlePacer(poll_s, started_at=time.monotonic(), stretch=idle_stretch)
        self.ready = False
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    async def claim_and_send(self) -> int:
        raise NotImplementedError

    async def report_unreported(self, older_than_s: float = 10.0) -> int:
        """Publish the outcome of rows sent but not yet reported; how many."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release what the dispatcher holds (HTTP clients); runs after in-flight sends."""

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def wake(self) -> None:
        self.pacer.worked(time.monotonic())
        self._wake.set()

    def due_in(self, seconds: float) -> None:
        """Rows this loop just put off (a retry, a paused endpoint) come due in `seconds`:
        the loop is awake by then however quiet it is."""
        self.pacer.due_in(seconds, time.monotonic())

    def track(self, task: asyncio.Task[None]) -> None:
        """Keep a send task alive until it ends; shutdown waits for it."""
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        # A finished send frees room in its endpoint's budget: claim again now, not at the
        # next poll (rows left unclaimed because the budget was full are waiting).
        task.add_done_callback(lambda _: self._wake.set())

    async def run(self) -> None:
        delay = self.loop_settings.consumer_backoff_initial_s
        last_sweep = 0.0
        try:
            while not self._stopping.is_set():
                # Cleared before the round, not before the sleep: a wake that comes while
                # the round runs (rows committed after its claim) cuts the sleep short.
                self._wake.clear()
                try:
                    now = time.monotonic()
                    if now - last_sweep > self.pacer.interval(SWEEP_EVERY_S, now):
                        if await self.report_unreported():
                            self.pacer.worked(now)
                        last_sweep = time.monotonic()
                    claimed = await self.claim_and_send()
                    if claimed:
                        self.pacer.worked(time.monotonic())
                    self.ready = True
                    delay = self.loop_settings.consumer_backoff_initial_s
                except Exception as exc:
                    self.ready = False
                    if is_transient(exc):
                        log.warning("dispatcher_retrying", error=type(exc).__name__)
                    else:
                        log.exception("dispatcher_round_failed", error=type(exc).__name__)
                    await self._sleep(delay)
                    delay = min(delay * 2, self.loop_settings.consumer_backoff_max_s)
                    continue
                if claimed == 0:
                    await self._sleep(self.pacer.sleep_s(time.monotonic()))
        finally:
            for task in list(self.tasks):
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(task, timeout=self.drain_timeout_s)
            await self.close()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
