"""The reason menu's rows (X-MENU-1): messages waiting for an answer, and patients' languages.

Loaded per batch for the conversations and patients it names, written back in the batch's
transaction, so a waiting menu survives a restart like the rest of the router's state.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.router import storage
from switchboard.router.menu import PendingMenu
from switchboard.rules.contacts import replaces

PENDING = "pending"


@dataclass
class MenuState:
    """One batch's view: the pending menu per conversation, and what to write back."""

    pending: dict[uuid.UUID, PendingMenu] = field(default_factory=dict)
    languages: dict[tuple[str, str], tuple[str | None, datetime | None]] = field(
        default_factory=dict
    )
    dirty: dict[uuid.UUID, tuple[PendingMenu, str, str | None]] = field(default_factory=dict)
    dirty_languages: set[tuple[str, str]] = field(default_factory=set)

    def put(self, menu: PendingMenu) -> None:
        self.pending[menu.conversation_id] = menu
        self.dirty[menu.menu_id] = (menu, PENDING, None)

    def end(self, menu: PendingMenu, status: str, reason: str | None = None) -> None:
        self.pending.pop(menu.conversation_id, None)
        self.dirty[menu.menu_id] = (menu, status, reason)

    def language(self, practice_id: str, patient_id: str) -> str | None:
        return self.languages.get((practice_id, patient_id), (None, None))[0]

    def set_language(
        self, practice_id: str, patient_id: str, language: str | None, updated: datetime
    ) -> None:
        key = (practice_id, patient_id)
        known = self.languages.get(key)
        if known is not None and not replaces(known[1], updated):
            return  # an older version delivered late
        self.languages[key] = (language, updated)
        self.dirty_languages.add(key)


def _menu(row: Any) -> PendingMenu:
    return PendingMenu(
        menu_id=row["menu_id"],
        practice_id=row["practice_id"],
        conversation_id=row["conversation_id"],
        channel=row["channel"],
        options=tuple((o[0], o[1]) for o in row["options"]),
        language=row["language"],
        window_minutes=row["window_minutes"],
        sent=row["sent"],
        deadline=row["deadline"],
        opening=row["opening"],
    )


async def load(
    session: AsyncSession,
    conversation_ids: Iterable[uuid.UUID],
    patients: Iterable[tuple[str, str]],
) -> MenuState:
    state = MenuState()
    ids = sorted(set(conversation_ids))
    if ids:
        t = storage.reason_menus
        rows = await session.execute(
            select(t).where(t.c.conversation_id.in_(ids), t.c.status == PENDING)
        )
        for row in rows.mappings():
            state.pending[row["conversation_id"]] = _menu(row)
    keys = sorted(set(patients))
    if keys:
        lt = storage.patient_languages
        rows = await session.execute(
            select(lt).where(tuple_(lt.c.practice_id, lt.c.patient_id).in_(keys))
        )
        for row in rows.mappings():
            key = (row["practice_id"], row["patient_id"])
            state.languages[key] = (row["language"], row["source_updated_at"])
    return state


async def flush(session: AsyncSession, state: MenuState) -> None:
    t = storage.reason_menus
    for menu_id, (menu, status, reason) in sorted(state.dirty.items()):
        values = {
            "menu_id": menu_id,
            "practice_id": menu.practice_id,
            "conversation_id": menu.conversation_id,
            "channel": menu.channel,
            "options": [list(o) for o in menu.options],
            "language": menu.language,
            "window_minutes": menu.window_minutes,
            "sent": menu.sent,
            "deadline": menu.deadline,
            "opening": menu.opening,
            "status": status,
            "outcome_reason": reason,
        }
        stmt = insert(t).values(**values)
        update = {k: stmt.excluded[k] for k in ("sent", "deadline", "status", "outcome_reason")}
        await session.execute(stmt.on_conflict_do_update(index_elements=[t.c.menu_id], set_=update))
    lt = storage.patient_languages
    for practice_id, patient_id in sorted(state.dirty_languages):
        language, updated = state.languages[(practice_id, patient_id)]
        stmt = insert(lt).values(
            practice_id=practice_id,
            patient_id=patient_id,
            language=language,
            source_updated_at=updated,
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[lt.c.practice_id, lt.c.patient_id],
                set_={"language": stmt.excluded.language, "source_updated_at": updated},
            )
        )


async def due(session: AsyncSession, now: datetime, limit: int = 500) -> list[PendingMenu]:
    """Pending menus whose window has ended (the menu timer's round)."""
    t = storage.reason_menus
    rows = await session.execute(
        select(t)
        .where(t.c.status == PENDING, t.c.deadline <= now)
        .order_by(t.c.deadline)
        .limit(limit)
    )
    return [_menu(r) for r in rows.mappings()]
