"""ingest's consumers. They never call out: each applies a poll in one transaction.

- `actions` (Topic.ACTIONS): a ReplyRequested becomes one row of `ingest.outbound` keyed by
  the reply's message id, so a redelivered request never sends twice; the dispatcher sends
  it. A refused reply's ReplyFailed reopens the conversation (I-DELIV-2). A messenger reply
  goes to the patient page at once (ReplySent), which closes the conversation unless kept
  open (I-DELIV-1). A secure email's text goes to the patient page and the patient gets
  only a notice (I-REPLY-1). Every email reply's Message-ID is recorded with its
  conversation, so the patient's answer threads back (I-THREAD-1). ConversationLinked says
  whom a conversation belongs to.
- `contacts` (Topic.PM): who each phone and email belongs to, from PatientUpserted (newest
  source version wins), so an SMS from a number that is not exactly one patient's is its own
  communication (I-THREAD-1).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import (
    ConversationLinked,
    Event,
    PatientUpserted,
    ReplyRequested,
)
from switchboard.ingest.adapters import queries, storage
from switchboard.ingest.adapters.mail import reply_message_id
from switchboard.ingest.domain.directory import Directory
from switchboard.ingest.domain.outbound import failed_event, outbound_kind, refusal, sent_event
from switchboard.ingest.domain.reply_status import with_status
from switchboard.ingest.settings import IngestSettings
from switchboard.platform.db import write_rows
from switchboard.platform.logging import get_logger
from switchboard.rules.contacts import contact_key, contact_keys, replaces

log = get_logger(__name__)

MESSENGER_LINE = "messenger"


class Handlers:
    def __init__(self, settings: IngestSettings, directory: Directory) -> None:
        self.settings = settings
        self.directory = directory

    async def actions(self, session: AsyncSession, events: Sequence[Event]) -> list[Event]:
        out: list[Event] = []
        for e in events:
            if isinstance(e, ReplyRequested):
                out.extend(await self._reply(session, e))
            elif isinstance(e, ConversationLinked):
                cp = storage.conversation_patients
                stmt = insert(cp).values(
                    conversation_id=e.conversation_id,
                    practice_id=e.practice_id,
                    patient_id=e.patient_id,
                )
                await session.execute(
                    stmt.on_conflict_do_update(
                        index_elements=[cp.c.conversation_id],
                        set_={"patient_id": stmt.excluded.patient_id},
                    )
                )
        return out

    async def _reply(self, session: AsyncSession, e: ReplyRequested) -> list[Event]:
        now = datetime.now(UTC)
        why = refusal(e, self.directory)
        if why is not None:
            log.warning("reply_refused", practice_id=e.practice_id, why=why, channel=e.channel)
            return with_status(e, failed_event(e, why, now))
        kind = outbound_kind(e)
        attachments = [a.model_dump(mode="json") for a in e.attachments]
        if kind in ("portal", "secure_notice"):
            await session.execute(
                insert(storage.portal_messages)
                .values(
                    message_id=e.message_id,
                    practice_id=e.practice_id,
                    conversation_id=e.conversation_id,
                    channel="web_chat" if kind == "portal" else "secure_email",
                    direction="out",
                    body=e.body,
                    subject=e.subject,
                    attachments=attachments,
                    at=e.requested_at,
                )
                .on_conflict_do_nothing()
            )
            if kind == "portal":
                # The messenger *is* the patient page: stored is delivered.
                return with_status(e, sent_event(e, str(e.message_id), now))
        if kind in ("email", "secure_notice"):
            await queries.record_email(
                session,
                practice_id=e.practice_id,
                message_id=reply_message_id(e.message_id, self.settings.mail_domain),
                conversation_id=e.conversation_id,
                direction="out",
                party=contact_key(e.to),
                subject=e.subject,
                at=e.requested_at,
            )
        await session.execute(
            insert(storage.outbound)
            .values(
                message_id=e.message_id,
                practice_id=e.practice_id,
                conversation_id=e.conversation_id,
                channel=e.channel,
                kind=kind,
                line=e.line,
                to_addr=e.to,
                request=e.model_dump(mode="json"),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                reported=False,
                created_at=now,
            )
            .on_conflict_do_nothing()
        )
        return []

    async def contacts(self, session: AsyncSession, events: Sequence[Event]) -> list[Event]:
        newest: dict[tuple[str, str], PatientUpserted] = {}
        for e in events:
            if isinstance(e, PatientUpserted):
                key = (e.practice_id, e.patient_id)
                known = newest.get(key)
                if replaces(known.source_updated_at if known else None, e.source_updated_at):
                    newest[key] = e
        if not newest:
            return []
        p, c = storage.patients, storage.contacts
        stored = {
            (r.practice_id, r.patient_id): r.source_updated_at
            for r in (
                await session.execute(
                    select(p.c.practice_id, p.c.patient_id, p.c.source_updated_at).where(
                        tuple_(p.c.practice_id, p.c.patient_id).in_(list(newest))
                    )
                )
            ).all()
        }
        fresh = [
            e
            for k, e in newest.items()
            if replaces(stored.get(k), e.source_updated_at)  # older ones arrive late
        ]
        if not fresh:
            return []
        keys = [(e.practice_id, e.patient_id) for e in fresh]
        await session.execute(delete(c).where(tuple_(c.c.practice_id, c.c.patient_id).in_(keys)))
        rows: list[dict[str, Any]] = [
            {"practice_id": e.practice_id, "contact": key, "patient_id": e.patient_id}
            for e in fresh
            for key in contact_keys((*e.phones, *e.emails))
        ]
        await write_rows(session, c, rows, conflict=["practice_id", "contact", "patient_id"])
        await write_rows(
            session,
            p,
            [
                {
                    "practice_id": e.practice_id,
                    "patient_id": e.patient_id,
                    "source_updated_at": e.source_updated_at,
                }
                for e in fresh
            ],
            conflict=["practice_id", "patient_id"],
            update=["source_updated_at"],
        )
        return []
