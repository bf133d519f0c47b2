"""The reason menu's timer (X-MENU-4): a menu with no usable answer in its window ends.

Durable the way the inbox's snooze timer is (inbox_projection/snooze.py): the timer *is* the
pending row of `router.reason_menus` (its `deadline`), so a restart loses nothing. Each round
appends a ReasonMenuExpired for every pending menu that is due, with an id derived from the
menu and how many menus went out, at the deadline's own time. A round that dies after
publishing, or two replicas in the same round, publish the same id again (applied once); the
router ignores an expiry that no longer matches the pending menu (answered meanwhile, or a
retry moved the deadline). The expiry is on the log, so a replay decides the same.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.events import ReasonMenuExpired, deterministic_id
from switchboard.platform.consumer import is_transient
from switchboard.platform.kafka import Publisher, PublishError
from switchboard.platform.logging import get_logger
from switchboard.platform.readiness import Backoff
from switchboard.router import menu_store
from switchboard.router.menu import PendingMenu
from switchboard.router.menu_reply import SYSTEM

log = get_logger(__name__)

EXPIRED = Counter("switchboard_router_reason_menus_expired_total", "Reason menus not answered")


def expiry_event(menu: PendingMenu) -> ReasonMenuExpired:
    """The one expiry of one menu window: the same id however often it is made."""
    return ReasonMenuExpired(
        event_id=deterministic_id(menu.practice_id, "menu-expired", menu.menu_id, str(menu.sent)),
        correlation_id=menu.menu_id,
        causation_id=menu.menu_id,
        occurred_at=menu.deadline,
        practice_id=menu.practice_id,
        conversation_id=menu.conversation_id,
        actor=SYSTEM,
        menu_id=menu.menu_id,
    )


class MenuTimer:
    """Every `every_s`: end the menus whose window has passed."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        every_s: float = 1.0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.publisher = publisher
        self.every_s = every_s
        self._stopping = asyncio.Event()
        self._backoff = Backoff()

    def stop(self) -> None:
        self._stopping.set()
        self._backoff.wake()

    async def round(self, now: datetime | None = None) -> int:
        async with self.sessionmaker() as session:
            menus = await menu_store.due(session, now or datetime.now(UTC))
        events = [expiry_event(m) for m in menus]
        await self.publisher.publish(events)
        EXPIRED.inc(len(events))
        return len(events)

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.round()
            except PublishError:
                log.warning("reason_menu_timer_deferred", why="event log unavailable")
            except Exception as exc:
                if not is_transient(exc):
                    log.exception("reason_menu_timer_failed")
                else:
                    log.warning("reason_menu_timer_deferred", why=type(exc).__name__)
            await self._backoff.sleep(self.every_s)
