"""The time zones a practice may pick (X-NOTIFYADMIN-1): zoneinfo's IANA names, listed once.
Pure (the tz database is read from the installed tzdata, once per process)."""

from __future__ import annotations

import functools
from zoneinfo import available_timezones


@functools.cache
def zones() -> tuple[str, ...]:
    """Every IANA time zone name this process knows, sorted; "UTC" always among them."""
    return tuple(sorted(available_timezones() | {"UTC"}))


def is_known(zone: str) -> bool:
    return zone in frozenset(zones())
