# ruff: noqa: S608  (SQL text holds only the generation schema, checked by GENERATION; every
# value is a bind parameter)
"""The gateway's read-only queries on the reports read model (owned by inbox-projection,
ADR 0021): one practice's conversations opened in a time range, its patient messages received
in it, its unanswered conversations now, and its time zone and response targets (T-1: every
query is scoped to one practice).

The model lives in the active reports *generation* (tables `report_*` in schema `inbox`, or
schema `inbox_reports_r<n>` after a rebuild), named by `inbox.report_generations`.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.gateway.report_figures import ConversationFacts, PracticeTargets

GENERATION = re.compile(r"^inbox(_reports_r[0-9]{1,6})?$")


async def generation(session: AsyncSession) -> str:
    schema = await session.scalar(
        text("SELECT schema_name FROM inbox.report_generations WHERE active LIMIT 1")
    )
    return str(schema) if schema is not None and GENERATION.match(schema) else "inbox"


async def targets(session: AsyncSession, practice_id: str) -> PracticeTargets:
    s = await generation(session)
    row = (
        await session.execute(
            text(
                f"SELECT timezone, sla_minutes, sla_by_reason FROM {s}.report_practices "
                "WHERE practice_id = :p"
            ),
            {"p": practice_id},
        )
    ).first()
    if row is None:
        return PracticeTargets()
    return PracticeTargets(row.timezone, row.sla_minutes, dict(row.sla_by_reason or {}))


async def conversations(
    session: AsyncSession, practice_id: str, start: datetime, end: datetime
) -> list[ConversationFacts]:
    s = await generation(session)
    rows = await session.execute(
        text(
            f"""SELECT conversation_id, opened_at, channel, reason, location_id,
                first_response_at, responder, closed_at, closed_by, escalation_started_at
            FROM {s}.report_conversations
            WHERE practice_id = :p AND opened_at >= :a AND opened_at < :b"""
        ),
        {"p": practice_id, "a": start, "b": end},
    )
    return [
        ConversationFacts(
            conversation_id=str(r.conversation_id),
            opened_at=r.opened_at,
            channel=r.channel,
            reason=r.reason,
            location_id=r.location_id,
            first_response_at=r.first_response_at,
            responder=r.responder,
            closed_at=r.closed_at,
            closed_by=r.closed_by,
            escalation_started_at=r.escalation_started_at,
        )
        for r in rows
    ]


async def received(
    session: AsyncSession, practice_id: str, start: datetime, end: datetime
) -> list[datetime]:
    s = await generation(session)
    rows = await session.execute(
        text(
            f"SELECT received_at FROM {s}.report_messages "
            "WHERE practice_id = :p AND received_at >= :a AND received_at < :b"
        ),
        {"p": practice_id, "a": start, "b": end},
    )
    return list(rows.scalars())


async def waiting_since(session: AsyncSession, practice_id: str) -> list[datetime]:
    """For each open conversation waiting for staff: its oldest unanswered patient message."""
    s = await generation(session)
    rows = await session.execute(
        text(
            f"""SELECT (SELECT min(m.received_at) FROM {s}.report_messages m
                    WHERE m.conversation_id = c.conversation_id
                      AND m.received_at > coalesce(c.last_response_at, '-infinity'))
            FROM {s}.report_conversations c
            WHERE c.practice_id = :p AND c.status = 'open'
              AND c.last_inbound_at > coalesce(c.last_response_at, '-infinity')"""
        ),
        {"p": practice_id},
    )
    return [at for at in rows.scalars() if at is not None]
