"""A circuit breaker for the database look-ups on the intake path (ADR 0008).

A webhook must not wait on a database that is away: each look-up gets `timeout_s`, and
after a failure the breaker stays open for `open_s` -- look-ups fail at once, without
trying -- before one more is let through. The caller treats a failure as "look up later"
(a deferred message), never as an error for the provider. Pure: the clock is given.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

T = TypeVar("T")

# What "the database is away" looks like: a driver error, a socket error, our timeout, or
# no pooled connection free in time.
UNAVAILABLE = (DBAPIError, OSError, TimeoutError, PoolTimeout)


class Open(Exception):
    """The breaker is open, or the look-up just failed: do it later."""


class Breaker:
    def __init__(
        self,
        timeout_s: float,
        open_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout_s = timeout_s
        self.open_s = open_s
        self.clock = clock
        self.open_until = 0.0

    @property
    def is_open(self) -> bool:
        return self.clock() < self.open_until

    async def call(self, look_up: Callable[[], Awaitable[T]]) -> T:
        if self.is_open:
            raise Open("database look-ups paused after a failure")
        try:
            async with asyncio.timeout(self.timeout_s):
                result = await look_up()
        except UNAVAILABLE as exc:
            self.open_until = self.clock() + self.open_s
            raise Open(type(exc).__name__) from None
        self.open_until = 0.0
        return result
