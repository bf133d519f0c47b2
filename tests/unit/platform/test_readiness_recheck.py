"""readiness.py: a loop's backoff ends when woken, and a readiness check wakes a failing loop
(at most once per interval) and reports it ready as soon as its retry succeeded."""

from __future__ import annotations

import asyncio

from switchboard.platform.readiness import Backoff, Recheck


class Loop:
    """A background loop that failed on its dependency and retries after a long backoff."""

    def __init__(self, dependency_up: bool) -> None:
        self.backoff = Backoff()
        self.dependency_up = dependency_up
        self.ready = False
        self.retries = 0

    async def run(self) -> None:
        while not self.ready:
            await self.backoff.sleep(3600)
            self.retries += 1
            self.ready = self.dependency_up


async def test_woken_backoff_ends_early() -> None:
    backoff = Backoff()
    sleeper = asyncio.create_task(backoff.sleep(3600))
    await asyncio.sleep(0)
    backoff.wake()
    await asyncio.wait_for(sleeper, timeout=5)


async def test_check_makes_a_failing_loop_retry_and_reports_its_recovery() -> None:
    loop = Loop(dependency_up=True)
    task = asyncio.create_task(loop.run())
    recheck = Recheck(every_s=60, wait_s=5)
    assert await recheck(lambda: loop.ready, [loop.backoff.wake]) is True
    assert loop.retries == 1
    await task


async def test_check_wakes_at_most_once_per_interval_while_still_failing() -> None:
    loop = Loop(dependency_up=False)
    task = asyncio.create_task(loop.run())
    recheck = Recheck(every_s=60, wait_s=0.2)
    assert await recheck(lambda: loop.ready, [loop.backoff.wake]) is False
    assert await recheck(lambda: loop.ready, [loop.backoff.wake]) is False
    assert loop.retries == 1  # the second probe did not make it retry again
    task.cancel()
