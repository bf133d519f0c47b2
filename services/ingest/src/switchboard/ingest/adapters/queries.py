"""ingest's reads and small writes outside the consumers: who a number belongs to, and
email threads (I-THREAD-1)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

from switchboard.events import deterministic_id
from switchboard.ingest.adapters import storage
from switchboard.rules.contacts import contact_key


async def contact_owners(session: AsyncSession, practice_id: str, contact: str) -> list[str]:
    c = storage.contacts
    rows = await session.execute(
        select(c.c.patient_id)
        .where(c.c.practice_id == practice_id, c.c.contact == contact_key(contact))
        .limit(5)
    )
    return list(rows.scalars())


COUNT_OWNERS = text(
    """
    SELECT c.practice_id, c.contact, count(*) AS n
    FROM unnest(CAST(:practices AS text[]), CAST(:contacts AS text[])) AS k(practice_id, contact)
    JOIN ingest.contacts c ON c.practice_id = k.practice_id AND c.contact = k.contact
    GROUP BY c.practice_id, c.contact
    """
)


async def contact_owner_counts(
    session: AsyncSession, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """How many patients use each (practice, contact key), in one query."""
    rows = await session.execute(
        COUNT_OWNERS,
        {"practices": [k[0] for k in keys], "contacts": [k[1] for k in keys]},
    )
    return {(r.practice_id, r.contact): int(r.n) for r in rows}


async def email_conversation(
    session: AsyncSession,
    practice_id: str,
    message_id: str,
    thread_ids: tuple[str, ...],
    party: str,
) -> uuid.UUID:
    """The conversation an inbound email belongs to (I-THREAD-1).

    The same Message-ID again (a mail delivered twice): its conversation. A reply naming a
    message we know (In-Reply-To, then References, nearest first) from an address already in
    that thread: that thread's conversation, so a thread staff linked to a patient stays
    linked. Anything else, a new thread from the same address included: a new conversation.
    """
    e = storage.email_messages
    wanted = [message_id, *thread_ids]
    rows = (
        await session.execute(
            select(e.c.message_id, e.c.conversation_id).where(
                e.c.practice_id == practice_id,
                e.c.message_id == any_(bindparam("ids", wanted, type_=ARRAY(Text))),
            )
        )
    ).all()
    known = {r.message_id: r.conversation_id for r in rows}
    if message_id in known:
        return uuid.UUID(str(known[message_id]))
    for parent in thread_ids:
        conversation = known.get(parent)
        if conversation is None:
            continue
        parties = set(
            (
                await session.execute(
                    select(e.c.party).where(e.c.conversation_id == conversation).distinct()
                )
            ).scalars()
        )
        # Another address answering in someone's thread does not join it (no hijacking a
        # linked patient's conversation by quoting its Message-ID).
        if party in parties:
            return uuid.UUID(str(conversation))
        break
    return deterministic_id(practice_id, "email", message_id)


async def record_email(
    session: AsyncSession,
    *,
    practice_id: str,
    message_id: str,
    conversation_id: uuid.UUID,
    direction: str,
    party: str,
    subject: str | None,
    at: datetime,
) -> None:
    e = storage.email_messages
    await session.execute(
        insert(e)
        .values(
            practice_id=practice_id,
            message_id=message_id,
            conversation_id=conversation_id,
            direction=direction,
            party=party,
            subject=subject,
            at=at,
        )
        .on_conflict_do_nothing()
    )


async def thread_headers(
    session: AsyncSession, conversation_id: uuid.UUID, exclude: str | None = None
) -> tuple[str | None, tuple[str, ...], str | None]:
    """For a reply in a conversation: (In-Reply-To, References, the thread's subject) -- the
    newest inbound message, every message of the thread in order, the first subject."""
    e = storage.email_messages
    rows = (
        await session.execute(
            select(e.c.message_id, e.c.direction, e.c.subject)
            .where(e.c.conversation_id == conversation_id)
            .order_by(e.c.at, e.c.message_id)
        )
    ).all()
    rows = [r for r in rows if r.message_id != exclude]
    inbound = [r for r in rows if r.direction == "in"]
    parent = inbound[-1].message_id if inbound else (rows[-1].message_id if rows else None)
    subject = next((r.subject for r in rows if r.subject), None)
    return parent, tuple(r.message_id for r in rows), subject
