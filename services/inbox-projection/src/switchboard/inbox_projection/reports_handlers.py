"""Apply a batch of events to one generation of the reports read model (X-REPORT-1).

One batch = one transaction: fold the batch (reports_model.py), load the stored facts of the
conversations and practices it touches, join them, and write the joined rows. The fold is a
join (order-free and idempotent), so no per-event record is needed for the rows to be right
when the live consumer and a rebuild's catch-up both apply an event.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

from switchboard.events import Event
from switchboard.inbox_projection import reports_storage as rs
from switchboard.inbox_projection.reports_model import (
    HANDLED,
    Facts,
    PracticeSettings,
    ReportFold,
)


async def current_generation(session: AsyncSession) -> str:
    """The live reports generation, read under the shared switch lock."""
    await session.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": rs.SWITCH_LOCK})
    g = rs.report_generations.c
    schema = await session.scalar(select(g.schema_name).where(g.active))
    return rs.check_generation(schema or rs.SCHEMA)


async def handle_batch(session: AsyncSession, events: Sequence[Event]) -> list[Event]:
    """The live consumer's handler: applies to the active generation; publishes nothing."""
    await apply_batch(session, events, await current_generation(session))
    return []


async def apply_batch(session: AsyncSession, events: Sequence[Event], schema: str) -> None:
    fold = ReportFold()
    fold.apply(e for e in events if isinstance(e, HANDLED))
    if not (fold.facts or fold.messages or fold.practices):
        return
    t = rs.tables(schema)
    # One writer per generation at a time (live consumer, a rebuild catching up): each one's
    # load-join-write then sees the other's committed rows.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:g))"), {"g": f"reports:{schema}"}
    )
    conv = t["report_conversations"]
    stored: dict[uuid.UUID, Facts] = {}
    if fold.facts:
        ids = bindparam("ids", list(fold.facts), type_=ARRAY(UUID(as_uuid=True)))
        for r in (
            (await session.execute(select(conv).where(conv.c.conversation_id == any_(ids))))
            .mappings()
            .all()
        ):
            stored[r["conversation_id"]] = Facts.from_row(dict(r))
    pt = t["report_practices"]
    settings: dict[str, PracticeSettings] = {}
    if fold.practices:
        ps = bindparam("ps", list(fold.practices), type_=ARRAY(Text))
        for r in (
            (await session.execute(select(pt).where(pt.c.practice_id == any_(ps)))).mappings().all()
        ):
            settings[r["practice_id"]] = PracticeSettings.from_row(dict(r))
    facts, practices = fold.merge_into(stored, settings)
    await _upsert(session, conv, ["conversation_id"], [f.row() for f in facts])
    await _upsert(session, pt, ["practice_id"], [p.row() for p in practices])
    if fold.messages:
        m = t["report_messages"]
        await session.execute(
            insert(m).on_conflict_do_nothing(index_elements=[m.c.message_id]),
            [
                {
                    "message_id": mid,
                    "practice_id": p,
                    "conversation_id": cid,
                    "received_at": at,
                    "channel": ch,
                }
                for mid, (p, cid, at, ch) in sorted(fold.messages.items())
            ],
        )


async def _upsert(session: AsyncSession, table: Any, keys: list[str], rows: list[Any]) -> None:
    if not rows:
        return
    stmt = insert(table)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c[k] for k in keys],
            set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys},
        ),
        rows,
    )
