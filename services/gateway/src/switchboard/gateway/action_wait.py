"""Append staff actions and wait for the inbox projection's outcome of each (read-your-writes),
for actions on several conversations at once (a bulk action, I-BULK-1) or one (a note, a
snooze). Shared by route modules, which do not import each other."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence

from fastapi import HTTPException, Request

from switchboard.events import Event
from switchboard.gateway.readmodel import inbox
from switchboard.platform.kafka import PublishError


async def publish(request: Request, events: Sequence[Event]) -> None:
    """Append (acks=all), or 503 when the log is away."""
    try:
        await request.app.state.runtime.publisher.publish(list(events))
    except PublishError:
        raise HTTPException(503, "the event log is unavailable, try again") from None


async def outcomes(request: Request, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str] | None:
    """The projection's outcome of every event in `ids`, or None if not all are there within
    the gateway's `action_wait_s`."""
    deadline = time.monotonic() + request.app.state.settings.action_wait_s
    while True:
        async with request.app.state.runtime.sessionmaker() as session:
            found = await inbox.outcomes(session, list(ids))
        if len(found) == len(ids):
            return found
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(0.02)
