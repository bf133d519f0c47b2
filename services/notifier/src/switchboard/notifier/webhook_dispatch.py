"""Event webhooks' sender (ADR 0022): delivers the queued public events to each endpoint,
signed per Standard Webhooks (event_webhooks.py), at least once and in order per
conversation.

- Only the head of each (endpoint, conversation) queue is sent, and only one at a time: the
  next event of a conversation waits until the one before it is delivered. Conversations
  are independent, so one stuck conversation holds up only itself.
- A claim is a lease (`status = 'sending'`, `lease_until`): a sender that died leaves rows
  that are claimed again after the lease (so at least once; the receiver drops the repeat
  by `webhook-id`).
- Each endpoint has its own in-flight limit and its own failures: a failed attempt puts the
  row back with a backoff, and after `event_webhook_pause_after` failures in a row the
  endpoint is paused until a practice admin resumes it. Sends run as tasks of their own, so
  a slow or failing endpoint never delays another's.
- Every attempt is logged (event_webhook_attempts: time, status code, error code, duration).
  Payloads and URLs are never logged.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import httpx
from prometheus_client import Counter
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.notifier import storage
from switchboard.notifier.event_webhooks import backoff, delivered, should_pause, signed_headers
from switchboard.notifier.handlers import Clock, utcnow
from switchboard.notifier.settings import NotifierSettings
from switchboard.platform.logging import get_logger
from switchboard.platform.outbox import OutboxLoop

log = get_logger(__name__)

ATTEMPTS = Counter(
    "switchboard_event_webhook_attempts_total", "Event webhook delivery attempts", ["outcome"]
)
PAUSED = Counter("switchboard_event_webhook_endpoints_paused_total", "Endpoints paused")

# The head of every (endpoint, conversation) queue of an active endpoint, due now: a pending
# row whose time has come, or a claim whose lease ran out.
_HEADS = text(
    """
    SELECT h.seq, h.endpoint_id FROM (
        SELECT DISTINCT ON (d.endpoint_id, d.conversation_id)
               d.seq, d.endpoint_id, d.status, d.next_attempt_at, d.lease_until
          FROM notifier.event_webhook_deliveries d
          JOIN notifier.event_webhook_endpoints e ON e.endpoint_id = d.endpoint_id
         WHERE d.status <> 'delivered' AND e.status = 'active'
         ORDER BY d.endpoint_id, d.conversation_id, d.seq
    ) h
    WHERE (h.status = 'pending' AND h.next_attempt_at <= :now)
       OR (h.status = 'sending' AND h.lease_until < :now)
    ORDER BY h.seq
    LIMIT :limit
    """
)
_CLAIM = text(
    """
    UPDATE notifier.event_webhook_deliveries d
       SET status = 'sending', lease_until = :lease
      FROM notifier.event_webhook_endpoints e, notifier.public_events p
     WHERE d.seq = ANY(:seqs)
       AND e.endpoint_id = d.endpoint_id AND p.event_id = d.event_id
       AND (d.status = 'pending' OR (d.status = 'sending' AND d.lease_until < :now))
    RETURNING d.seq, d.delivery_id, d.endpoint_id, d.event_id, d.attempts, e.url, e.secret,
              p.payload
    """
)


class EventWebhookDispatcher(OutboxLoop):
    def __init__(
        self,
        settings: NotifierSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock = utcnow,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            settings, settings.event_webhook_poll_s, drain_timeout_s=settings.webhook_timeout_s
        )
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.inflight: dict[uuid.UUID, int] = defaultdict(int)
        self.client = httpx.AsyncClient(
            timeout=settings.event_webhook_timeout_s, transport=transport, follow_redirects=False
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def report_unreported(self, older_than_s: float = 10.0) -> int:
        return 0  # the outcome is the delivery row itself: nothing to publish

    async def claim_and_send(self) -> int:
        now = self.clock()
        cap = self.settings.event_webhook_concurrency
        async with self.sessionmaker() as session, session.begin():
            heads = (
                await session.execute(
                    _HEADS, {"now": now, "limit": self.settings.event_webhook_claim_max}
                )
            ).all()
            room = {e: cap - n for e, n in self.inflight.items()}
            chosen: list[int] = []
            for seq, endpoint_id in heads:
                if room.setdefault(endpoint_id, cap) > 0:
                    room[endpoint_id] -= 1
                    chosen.append(seq)
            if not chosen:
                return 0
            lease = now + timedelta(seconds=self.settings.send_lease_s)
            claimed = (
                await session.execute(_CLAIM, {"seqs": chosen, "now": now, "lease": lease})
            ).all()
        for row in claimed:
            self.inflight[row.endpoint_id] += 1
            self.track(asyncio.create_task(self._send(row)))
        return len(claimed)

    async def _send(self, row: Any) -> None:
        try:
            body = json.dumps(row.payload, separators=(",", ":")).encode()
            at = self.clock()
            headers = signed_headers(row.secret, str(row.event_id), at, body)
            started = time.perf_counter()
            status: int | None = None
            error: str | None = None
            try:
                answer = await self.client.post(row.url, content=body, headers=headers)
                status = answer.status_code
                if not delivered(status):
                    error = f"http_{status}"
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            duration_ms = int((time.perf_counter() - started) * 1000)
            ATTEMPTS.labels("delivered" if delivered(status) else "failed").inc()
            await self._record(row, at, status, error, duration_ms)
        except Exception as exc:  # the lease brings the row back
            log.warning("event_webhook_send_failed", error=type(exc).__name__)
        finally:
            self.inflight[row.endpoint_id] -= 1
            self.wake()

    async def _record(
        self, row: Any, at: datetime, status: int | None, error: str | None, duration_ms: int
    ) -> None:
        d = storage.event_deliveries
        ep = storage.event_endpoints
        attempt = row.attempts + 1
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                storage.event_attempts.insert().values(
                    delivery_id=row.delivery_id,
                    attempt=attempt,
                    endpoint_id=row.endpoint_id,
                    at=at,
                    status_code=status,
                    error=error,
                    duration_ms=duration_ms,
                )
            )
            if delivered(status):
                await session.execute(
                    update(d)
                    .where(d.c.seq == row.seq)
                    .values(
                        status="delivered",
                        attempts=attempt,
                        delivered_at=at,
                        last_status=status,
                        last_error=None,
                        lease_until=None,
                    )
                )
                await session.execute(
                    update(ep)
                    .where(ep.c.endpoint_id == row.endpoint_id)
                    .values(consecutive_failures=0)
                )
                return
            wait = backoff(
                attempt,
                self.settings.event_webhook_backoff_initial_s,
                self.settings.event_webhook_backoff_max_s,
            )
            self.due_in(wait.total_seconds())
            await session.execute(
                update(d)
                .where(d.c.seq == row.seq)
                .values(
                    status="pending",
                    attempts=attempt,
                    next_attempt_at=at + wait,
                    last_status=status,
                    last_error=error,
                    lease_until=None,
                )
            )
            failures = (
                await session.execute(
                    update(ep)
                    .where(ep.c.endpoint_id == row.endpoint_id)
                    .values(consecutive_failures=ep.c.consecutive_failures + 1)
                    .returning(ep.c.consecutive_failures, ep.c.status)
                )
            ).one_or_none()
            if (
                failures
                and failures[1] == "active"
                and should_pause(failures[0], self.settings.event_webhook_pause_after)
            ):
                await pause(session, row.endpoint_id, f"{failures[0]} failures in a row")
                PAUSED.inc()


async def pause(session: AsyncSession, endpoint_id: uuid.UUID, why: str) -> None:
    ep = storage.event_endpoints
    await session.execute(
        update(ep)
        .where(ep.c.endpoint_id == endpoint_id)
        .values(status="paused", paused_reason=why, updated_at=utcnow())
    )


async def endpoint_status(session: AsyncSession, endpoint_id: uuid.UUID) -> str | None:
    ep = storage.event_endpoints
    return (
        await session.execute(select(ep.c.status).where(ep.c.endpoint_id == endpoint_id))
    ).scalar_one_or_none()
