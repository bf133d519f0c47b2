"""The reason menu's timer (X-MENU-4): a menu with no usable answer in its window ends.

A durable timer (platform/due_events.py): the timer *is* the pending row of
`router.reason_menus` (its `deadline`). Each round appends a ReasonMenuExpired for every
pending menu that is due, with an id derived from the menu and how many menus went out, at the
deadline's own time. The router ignores an expiry that no longer matches the pending menu
(answered meanwhile, or a retry moved the deadline).
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.events import ReasonMenuExpired, deterministic_id
from switchboard.platform.due_events import DueEvents
from switchboard.platform.kafka import Publisher
from switchboard.router import menu_store
from switchboard.router.menu import PendingMenu
from switchboard.router.menu_reply import SYSTEM

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


async def due_expiries(session: AsyncSession, now: datetime) -> list[ReasonMenuExpired]:
    return [expiry_event(m) for m in await menu_store.due(session, now)]


def menu_timer(
    sessionmaker: async_sessionmaker[AsyncSession], publisher: Publisher, every_s: float = 1.0
) -> DueEvents:
    """Every `every_s`: end the menus whose window has passed."""
    return DueEvents("reason-menu-timer", due_expiries, EXPIRED, sessionmaker, publisher, every_s)
