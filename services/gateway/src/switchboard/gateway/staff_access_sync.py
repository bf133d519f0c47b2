"""Publishing staff access as events (X-ASOF-1a): at start, every user whose configured role
or policies differ from the last `StaffAccessSet` the inbox read model holds gets a new one.

Runs as a task beside the service (a Kafka or database outage at start delays it, never the
gateway). Safe to run twice and on several gateways at once: the event ids derive from the
access and the event each one follows (access_history.access_event_id), so the same change
is the same event and consumers apply it once."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import select

from switchboard.events import StaffAccessSet
from switchboard.gateway import storage
from switchboard.gateway.access_history import CONFIGURATION, AccessChange, changes
from switchboard.gateway.auth import Principal
from switchboard.gateway.readmodel import staff_access
from switchboard.platform.logging import get_logger
from switchboard.platform.service import Runtime

log = get_logger(__name__)


def access_event(change: AccessChange, actor: str, at: datetime) -> StaffAccessSet:
    p = change.principal
    return StaffAccessSet(
        event_id=change.event_id,
        correlation_id=change.event_id,
        occurred_at=at,
        practice_id=p.practice_id,
        actor=actor,
        staff_id=p.user_id,
        role=p.role,
        policies=tuple(sorted(p.policies)),
    )


async def publish_changes(rt: Runtime) -> int:
    """Publish the accesses configured differently from the last published; how many."""
    u = storage.users.c
    async with rt.sessionmaker() as session:
        rows = await session.execute(select(u.user_id, u.practice_id, u.role, u.policies))
        configured = [
            Principal(r.user_id, r.practice_id, r.role, frozenset(r.policies)) for r in rows
        ]
        published = await staff_access.published(session)
    todo = changes(configured, published)
    if todo:
        now = datetime.now(UTC)
        await rt.publisher.publish([access_event(c, CONFIGURATION, now) for c in todo])
        log.info("staff_access_published", count=len(todo))
    return len(todo)


async def _until_done(rt: Runtime) -> None:
    delay = 0.5
    while True:
        try:
            await publish_changes(rt)
            return
        except Exception as exc:  # the database or Kafka is away: try again later
            log.warning("staff_access_publish_failed", error=exc.__class__.__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


async def start(app: FastAPI, rt: Runtime) -> None:
    app.state.staff_access_task = asyncio.create_task(_until_done(rt), name="staff-access")


async def stop(app: FastAPI) -> None:
    task = getattr(app.state, "staff_access_task", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
