"""Appending a practice admin's configuration change (a config event naming who made it) and
answering once the router has applied it (read-your-writes), or 202 with the event id after
`apply_wait_s`. The one way route modules append a configuration event."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, Request, Response

from switchboard.events import Event
from switchboard.gateway import clients
from switchboard.gateway.auth import Principal


def envelope(p: Principal, practice_id: str | None = None) -> dict[str, Any]:
    """A new event's envelope: made now by `p`, for its practice unless another is named
    (a platform operator acting for a practice)."""
    event_id = uuid.uuid4()
    return {
        "event_id": event_id,
        "correlation_id": event_id,
        "occurred_at": datetime.now(UTC),
        "practice_id": practice_id or p.practice_id,
        "actor": p.user_id,
    }


async def append_and_wait(request: Request, response: Response, event: Event) -> dict[str, Any]:
    """Append a config event; answer once the router has applied it, or 202 after a wait."""
    await request.app.state.runtime.publisher.publish([event])
    deadline = time.monotonic() + request.app.state.settings.apply_wait_s
    path = f"/internal/practices/{event.practice_id}/config/events/{event.event_id}"
    while time.monotonic() < deadline:
        try:
            if (
                await clients.of(request).call("router", "GET", path, timeout_s=5)
            ).status_code == 200:
                return {"event_id": str(event.event_id), "applied": True}
        except HTTPException:
            pass  # the router is not there right now: ask again until the deadline
        await asyncio.sleep(0.05)
    response.status_code = 202
    return {"event_id": str(event.event_id), "applied": False}
