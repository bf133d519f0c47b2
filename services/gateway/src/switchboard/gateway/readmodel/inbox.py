# ruff: noqa: S608  (SQL text holds only the generation schema, checked by GENERATION, and
# fixed fragments; every value is a bind parameter)
"""The gateway's read-only queries on the inbox read models (owned by inbox-projection): the
inbox views (pages, counts, subscriptions), a conversation with its history, and patients;
with the generation pointer and the SQL fragments the other readmodel modules share.

The models live in the active *generation* (schema `inbox` or `inbox_r<n>` after a rebuild,
named by `inbox.generations`); every query reads the pointer first, in the same
transaction. Every query is scoped to one practice (T-1).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.rules import contacts

GENERATION = re.compile(r"^inbox(_r[0-9]{1,6})?$")


async def generation(session: AsyncSession) -> str:
    """The active generation's schema, read once per session (one request)."""
    cached = session.info.get("inbox_generation")
    if cached is not None:
        return str(cached)
    schema = await session.scalar(
        text("SELECT schema_name FROM inbox.generations WHERE active LIMIT 1")
    )
    found = str(schema) if schema is not None and GENERATION.match(schema) else "inbox"
    session.info["inbox_generation"] = found
    return found


class BadCursor(ValueError):
    pass


def encode_cursor(at: datetime, cid: uuid.UUID) -> str:
    raw = json.dumps([at.isoformat(), str(cid)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, cid = json.loads(raw)
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError("naive time")
        return parsed, uuid.UUID(cid)
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise BadCursor("cursor is not one this API gave out") from exc


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    channel: str | None = None
    reason: str | None = None
    location_id: str | None = None
    unassigned_only: bool = False

    def sql(self, alias: str, params: dict[str, Any]) -> str:
        parts = []
        for col, value in (
            ("status", self.status),
            ("channel", self.channel),
            ("reason", self.reason),
            ("location_id", self.location_id),
        ):
            if value is not None:
                params[f"f_{col}"] = value
                parts.append(f"{alias}.{col} = :f_{col}")
        if self.unassigned_only:
            parts.append(f"NOT {alias}.assigned" if alias == "m" else f"{alias}.assignee IS NULL")
        return "".join(f" AND {p}" for p in parts)


SUMMARY = """
    c.conversation_id, c.channel, c.line, c.sender, c.patient_id, c.matched_patient_ids,
    c.status, c.assignee, c.reason, c.reason_source, c.location_id, c.location_source,
    c.provider_id, c.inboxes,
    c.message_count, c.last_message_at, c.last_inbound_at, c.version, c.snoozed_until,
    p.given_name, p.family_name, l.name AS location_name, r.read_at
"""


def joins(s: str) -> str:
    return f"""
    LEFT JOIN {s}.patients p ON p.practice_id = c.practice_id AND p.patient_id = c.patient_id
    LEFT JOIN {s}.locations l ON l.practice_id = c.practice_id AND l.location_id = c.location_id
    LEFT JOIN {s}.reads r ON r.conversation_id = c.conversation_id AND r.user_id = :me
    """


async def page(
    session: AsyncSession,
    practice_id: str,
    box: str,
    me: str,
    filters: Filters,
    limit: int,
    cursor: tuple[datetime, uuid.UUID] | None,
    newest_first: bool = True,
) -> list[dict[str, Any]]:
    s = await generation(session)
    params: dict[str, Any] = {"p": practice_id, "box": box, "me": me, "n": limit + 1}
    where = filters.sql("m", params)
    if cursor:
        params["ca"], params["cc"] = cursor
        where += (
            f" AND (m.last_message_at, m.conversation_id) {'<' if newest_first else '>'} (:ca, :cc)"
        )
    order = "DESC" if newest_first else "ASC"
    sql = f"""
    SELECT m.last_message_at AS sort_at, {SUMMARY}
    FROM (
        SELECT m.conversation_id, m.last_message_at FROM {s}.membership m
        WHERE m.practice_id = :p AND m.box = :box {where}
        ORDER BY m.last_message_at {order}, m.conversation_id {order}
        LIMIT :n
    ) m
    JOIN {s}.conversations c ON c.conversation_id = m.conversation_id {joins(s)}
    ORDER BY m.last_message_at {order}, m.conversation_id {order}
    """
    return [dict(r) for r in (await session.execute(text(sql), params)).mappings()]


async def counts(
    session: AsyncSession, practice_id: str, boxes: list[str]
) -> dict[str, dict[str, int]]:
    s = await generation(session)
    rows = await session.execute(
        text(
            f"""
            SELECT box, count(*) AS total,
                   count(*) FILTER (WHERE status = 'open') AS open,
                   count(*) FILTER (WHERE NOT assigned) AS unassigned
            FROM {s}.membership WHERE practice_id = :p AND box = ANY(:boxes) GROUP BY box
            """
        ),
        {"p": practice_id, "boxes": boxes},
    )
    return {r.box: {"total": r.total, "open": r.open, "unassigned": r.unassigned} for r in rows}


async def shared_inboxes(session: AsyncSession, practice_id: str) -> list[str]:
    """Every shared inbox that has conversations or subscribers."""
    s = await generation(session)
    rows = await session.execute(
        text(
            f"""
            SELECT DISTINCT substr(box, 7) AS inbox FROM {s}.membership
            WHERE practice_id = :p AND box LIKE 'inbox:%'
            UNION SELECT DISTINCT inbox FROM {s}.inbox_subscriptions
            WHERE practice_id = :p AND valid_to IS NULL
            """
        ),
        {"p": practice_id},
    )
    return sorted(r.inbox for r in rows)


async def subscribed_inboxes(session: AsyncSession, practice_id: str, staff_id: str) -> list[str]:
    s = await generation(session)
    rows = await session.execute(
        text(
            f"SELECT inbox FROM {s}.inbox_subscriptions "
            "WHERE practice_id = :p AND staff_id = :u AND valid_to IS NULL"
        ),
        {"p": practice_id, "u": staff_id},
    )
    return sorted(rows.scalars())


async def conversation(
    session: AsyncSession, practice_id: str, cid: uuid.UUID, me: str
) -> dict[str, Any] | None:
    s = await generation(session)
    row = (
        (
            await session.execute(
                text(
                    f"""SELECT {SUMMARY}, c.explanation, c.routed_at, c.sent_by, c.linked_by,
                p.care_team, p.primary_contact
                FROM {s}.conversations c {joins(s)}
                WHERE c.conversation_id = :c AND c.practice_id = :p"""
                ),
                {"c": cid, "p": practice_id, "me": me},
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    out = dict(row)
    out["boxes"] = list(
        (
            await session.execute(
                text(
                    f"SELECT box FROM {s}.membership "
                    "WHERE conversation_id = :c AND practice_id = :p"
                ),
                {"c": cid, "p": practice_id},
            )
        ).scalars()
    )
    return out


async def history(session: AsyncSession, practice_id: str, cid: uuid.UUID) -> dict[str, Any]:
    s = await generation(session)
    params = {"c": cid, "p": practice_id}
    msgs = await session.execute(
        text(
            f"""
            SELECT m.message_id, m.direction, m.channel, m.sender, m.recipient, m.subject,
                   m.body, m.attachments, m.sent_at, m.actor, m.details,
                   (SELECT jsonb_object_agg(d.kind, jsonb_build_object('at', d.at, 'why', d.why))
                    FROM {s}.deliveries d WHERE d.message_id = m.message_id) AS delivery
            FROM {s}.messages m
            WHERE m.conversation_id = :c AND m.practice_id = :p
            ORDER BY m.sent_at, m.message_id
            """
        ),
        params,
    )
    decisions = await session.execute(
        text(
            f"""
            SELECT d.event_id, d.message_id, d.trigger, d.reason, d.reason_source,
                   d.location_id, d.location_source, l.name AS location_name, d.provider_id,
                   d.recipients, d.inboxes, d.decided_at
            FROM {s}.decisions d
            LEFT JOIN {s}.locations l
                ON l.practice_id = d.practice_id AND l.location_id = d.location_id
            WHERE d.conversation_id = :c AND d.practice_id = :p
            ORDER BY d.decided_at, d.event_id
            """
        ),
        params,
    )
    return {
        "messages": [dict(r) for r in msgs.mappings()],
        "decisions": [dict(r) for r in decisions.mappings()],
    }


async def outcomes(session: AsyncSession, event_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    s = await generation(session)
    rows = await session.execute(
        text(f"SELECT event_id, outcome FROM {s}.applied WHERE event_id = ANY(:ids)"),
        {"ids": event_ids},
    )
    return {r.event_id: r.outcome for r in rows}


async def patients(
    session: AsyncSession,
    practice_id: str,
    *,
    ids: list[str] | None = None,
    contact: str | None = None,
    name: str | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    s = await generation(session)
    params: dict[str, Any] = {"p": practice_id, "n": limit}
    clauses = []
    if ids is not None:
        params["ids"] = ids
        clauses.append("patient_id = ANY(:ids)")
    if contact is not None:
        params["contact"] = [contact]
        clauses.append("(phones @> CAST(:contact AS text[]) OR emails @> CAST(:contact AS text[]))")
    if name is not None:
        params["name"] = f"%{escape_like(name.lower())}%"
        clauses.append("search_name LIKE :name")
    if not clauses:
        return []
    rows = await session.execute(
        text(
            f"""
            SELECT patient_id, given_name, family_name, birth_date, phones, emails,
                   care_team, primary_contact
            FROM {s}.patients WHERE practice_id = :p AND ({" OR ".join(clauses)})
            ORDER BY family_name, given_name, patient_id LIMIT :n
            """
        ),
        params,
    )
    return [dict(r) for r in rows.mappings()]


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def normalize_phone(value: str) -> str | None:
    """A number staff typed, in E.164 as senders' numbers are stored: the shared rule, not
    insisting on an assigned number (a sender's need not be one)."""
    return contacts.normalize_phone(value, require_valid=False)


@dataclass(frozen=True)
class Search:
    """What a conversation search (search.py) matches on; each given criterion must match."""

    phone: str | None = None
    email: str | None = None
    name: str | None = None
    text: str | None = None
