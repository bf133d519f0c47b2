"""Sends what the `actions` consumer put in `ingest.outbound`, and reports each reply as
ReplySent or ReplyFailed (Topic.DELIVERY).

- Claims due rows with FOR UPDATE SKIP LOCKED and a lease: several ingest replicas share
  the work, and a claimed row whose process died is claimed again when its lease ends.
- A failed attempt is retried with exponential backoff up to `send_max_attempts`; a
  permanent failure (bad number, refused recipient, nothing configured) ends it at once.
- Its status follows the outcome: a ReplySent of a "Send and Close" reply is published with
  the close, a ReplyFailed with a reopen (I-DELIV-1, I-DELIV-2; domain/reply_status.py).
- Result first, report second: the row is marked sent/failed before its event is
  published; a sweep publishes what a crash left unreported (deterministic event ids make
  a repeat harmless).
- At most once per recipient where the provider allows: a row claimed again after a crash
  between the provider's accept and the mark (still `sending`), or after an attempt with no
  answer, has an unknown outcome. SMS then reads the provider's record first and does not
  resend what it already has (`switchboard_ingest_resends_suppressed_total`); email resends
  with the same Message-ID, so receivers can drop the repeat.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.events import Event, ReplyRequested, decode
from switchboard.ingest.adapters import storage
from switchboard.ingest.adapters.senders import OutboundItem, Sender, SendResult
from switchboard.ingest.domain.outbound import failed_event, sent_event
from switchboard.ingest.domain.reply_status import with_status
from switchboard.ingest.settings import IngestSettings
from switchboard.platform.kafka import Publisher
from switchboard.platform.logging import get_logger
from switchboard.platform.outbox import OutboxLoop
from switchboard.platform.sms_record import outcome_unknown

log = get_logger(__name__)

SENDS = Counter("switchboard_ingest_replies_total", "Replies sent", ["kind", "outcome"])
SUPPRESSED = Counter(
    "switchboard_ingest_resends_suppressed_total",
    "Resends after an unknown outcome not made: the provider already had the reply",
    ["kind"],
)

CLAIM = text(
    """
    WITH picked AS (
        SELECT message_id, status AS previous_status FROM ingest.outbound
        WHERE (status = 'pending' AND next_attempt_at <= :now)
           OR (status = 'sending' AND lease_until < :now)
        ORDER BY next_attempt_at
        LIMIT :n
        FOR UPDATE SKIP LOCKED
    )
    UPDATE ingest.outbound o
    SET status = 'sending', lease_until = :lease, attempts = o.attempts + 1
    FROM picked WHERE o.message_id = picked.message_id
    RETURNING o.message_id, o.practice_id, o.conversation_id, o.kind, o.line, o.to_addr,
              o.request, o.attempts, o.created_at, o.last_error, picked.previous_status
    """
)


def _request(doc: dict[str, object]) -> ReplyRequested:
    event = decode(doc)
    assert isinstance(event, ReplyRequested)
    return event


class Dispatcher(OutboxLoop):
    def __init__(
        self,
        settings: IngestSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        senders: dict[str, Sender],
    ) -> None:
        super().__init__(settings, settings.dispatcher_poll_s, settings.smtp_timeout_s + 1)
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.publisher = publisher
        self.senders = senders
        self.inflight = 0

    async def claim_and_send(self) -> int:
        room = self.settings.send_concurrency - self.inflight
        if room <= 0:
            return 0
        now = datetime.now(UTC)
        async with self.sessionmaker() as session, session.begin():
            rows = (
                await session.execute(
                    CLAIM,
                    {
                        "now": now,
                        "n": room,
                        "lease": now + timedelta(seconds=self.settings.send_lease_s),
                    },
                )
            ).all()
        for r in rows:
            item = OutboundItem(
                message_id=r.message_id,
                practice_id=r.practice_id,
                conversation_id=r.conversation_id,
                kind=r.kind,
                line=r.line,
                to=r.to_addr,
                request=_request(r.request),
                attempts=r.attempts,
                queued_at=r.created_at,
                outcome_unknown=outcome_unknown(r.previous_status, r.last_error),
            )
            self.inflight += 1
            task = asyncio.create_task(self._deliver(item))
            self.track(task)
        return len(rows)

    def backoff(self, attempts: int) -> float:
        s = self.settings
        return float(
            min(s.send_backoff_initial_s * 2 ** max(0, attempts - 1), s.send_backoff_max_s)
        )

    async def _deliver(self, item: OutboundItem) -> None:
        try:
            sender = self.senders["email" if item.kind == "secure_notice" else item.kind]
            try:
                result = await sender.send(item)
            except Exception as exc:  # a sender bug must not lose the reply
                log.exception("sender_failed", kind=item.kind, error=type(exc).__name__)
                result = SendResult(False, why="sender_error")
            if result.already_sent:
                SUPPRESSED.labels(item.kind).inc()
                log.info("reply_resend_suppressed", practice_id=item.practice_id, kind=item.kind)
            await self._finish(item, result)
        except Exception as exc:
            # Database or Kafka trouble while recording: the lease brings the row back.
            log.warning("delivery_not_recorded", kind=item.kind, error=type(exc).__name__)
        finally:
            self.inflight -= 1
            self._wake.set()

    async def _finish(self, item: OutboundItem, result: SendResult) -> None:
        now = datetime.now(UTC)
        o = storage.outbound
        final = result.ok or result.permanent or item.attempts >= self.settings.send_max_attempts
        why = result.why or "failed"
        if not result.ok and not result.permanent:
            why = f"{why}_after_{item.attempts}_attempts"
        async with self.sessionmaker() as session, session.begin():
            if result.ok:
                values = {
                    "status": "sent",
                    "provider_message_id": result.provider_message_id,
                    "done_at": now,
                    "lease_until": None,
                }
            elif final:
                values = {
                    "status": "failed",
                    "last_error": why,
                    "done_at": now,
                    "lease_until": None,
                }
            else:
                values = {
                    "status": "pending",
                    "last_error": result.why,
                    "next_attempt_at": now + timedelta(seconds=self.backoff(item.attempts)),
                    "lease_until": None,
                }
            await session.execute(update(o).where(o.c.message_id == item.message_id).values(values))
        if not final:
            self.due_in(self.backoff(item.attempts))
            SENDS.labels(item.kind, "retry").inc()
            log.warning(
                "reply_send_retrying",
                practice_id=item.practice_id,
                kind=item.kind,
                why=result.why,
                attempt=item.attempts,
            )
            return
        events = self._events(item.request, result.ok, result.provider_message_id, why, now)
        await self.publisher.publish(events)
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(o).where(o.c.message_id == item.message_id).values(reported=True)
            )
        SENDS.labels(item.kind, "sent" if result.ok else "failed").inc()
        log.info(
            "reply_sent" if result.ok else "reply_failed",
            practice_id=item.practice_id,
            kind=item.kind,
            attempts=item.attempts,
            why=None if result.ok else why,
        )

    @staticmethod
    def _events(
        request: ReplyRequested, ok: bool, provider_id: str | None, why: str, at: datetime
    ) -> list[Event]:
        """The outcome and the status change it causes (I-DELIV-1, I-DELIV-2)."""
        if ok:
            return with_status(request, sent_event(request, provider_id, at))
        return with_status(request, failed_event(request, why, at, provider_id))

    async def report_unreported(self, older_than_s: float = 10.0) -> int:
        """Publish the result of sends a crash left unreported."""
        now = datetime.now(UTC)
        o = storage.outbound
        async with self.sessionmaker() as session, session.begin():
            rows = (
                await session.execute(
                    select(
                        o.c.message_id,
                        o.c.request,
                        o.c.status,
                        o.c.provider_message_id,
                        o.c.last_error,
                        o.c.done_at,
                    )
                    .where(
                        o.c.reported.is_(False),
                        o.c.status.in_(["sent", "failed"]),
                        o.c.done_at < now - timedelta(seconds=older_than_s),
                    )
                    .limit(500)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            events = [
                e
                for r in rows
                for e in self._events(
                    _request(r.request),
                    r.status == "sent",
                    r.provider_message_id,
                    r.last_error or "failed",
                    r.done_at,
                )
            ]
            await self.publisher.publish(events)
            await session.execute(
                update(o)
                .where(o.c.message_id.in_([r.message_id for r in rows]))
                .values(reported=True)
            )
        log.info("replies_reported_late", count=len(rows))
        return len(rows)
