"""The dispatcher: sends the outbox's email, SMS and webhook alerts, and reports each as an
AlertSent or AlertFailed event.

- Claims due rows with FOR UPDATE SKIP LOCKED and a lease (a dead sender's rows are claimed
  again when the lease runs out), a bounded number per endpoint and in all.
- Each endpoint (the SMTP relay, the SMS provider, one webhook URL) has its own concurrency
  limit and its own backoff: a failing endpoint is paused and its alerts retried later with
  exponential backoff, up to `send_max_attempts`, then reported failed. Other endpoints go
  on at full speed: the claim skips paused and full endpoints.
- Result first, report second: a row is marked sent/failed before its event is published;
  a sweep publishes what a crash left unreported (deterministic event ids make a repeat
  harmless).
- At most once per recipient where the provider allows: a row claimed again after a crash
  between the provider's accept and the mark (still `sending`), or after an attempt with no
  answer, has an unknown outcome. SMS then reads the provider's record first and does not
  resend what it already has (`switchboard_notifier_resends_suppressed_total`); email keeps
  its Message-ID and webhooks their Idempotency-Key, so receivers can drop the repeat.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import httpx
from prometheus_client import Counter, Gauge
from sqlalchemy import bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.events import Event
from switchboard.notifier import storage
from switchboard.notifier.alerts import failed_event, sent_event
from switchboard.notifier.handlers import Clock, utcnow
from switchboard.notifier.model import Webhook
from switchboard.notifier.senders import (
    EmailSender,
    OutboxItem,
    Sender,
    SendResult,
    SmsSender,
    WebhookSender,
)
from switchboard.notifier.settings import NotifierSettings
from switchboard.platform.kafka import Publisher
from switchboard.platform.logging import get_logger
from switchboard.platform.outbox import OutboxLoop
from switchboard.platform.sms_record import outcome_unknown

log = get_logger(__name__)

SENT = Counter("switchboard_notifier_alerts_total", "External alerts", ["channel", "outcome"])
SUPPRESSED = Counter(
    "switchboard_notifier_resends_suppressed_total",
    "Resends after an unknown outcome not made: the provider already had the alert",
    ["channel"],
)
PAUSED = Gauge("switchboard_notifier_endpoints_paused", "Endpoints backing off after failures")

CLAIM = text(
    """
    WITH cand AS (
        SELECT alert_id, endpoint_key,
               row_number() OVER (PARTITION BY endpoint_key ORDER BY next_attempt_at, alert_id)
                   AS rn
        FROM (
            SELECT alert_id, endpoint_key, next_attempt_at FROM notifier.outbox
            WHERE ((status = 'pending' AND next_attempt_at <= :now)
                   OR (status = 'sending' AND lease_until < :now))
              AND NOT (endpoint_key = ANY(:excluded))
            ORDER BY next_attempt_at
            LIMIT :scan
        ) s
    ), picked AS (
        SELECT o.alert_id, o.status AS previous_status
        FROM notifier.outbox o JOIN cand c ON c.alert_id = o.alert_id
        WHERE c.rn <= COALESCE(
                (CAST(:budgets AS jsonb) ->> c.endpoint_key)::int,
                CASE WHEN c.endpoint_key LIKE 'webhook:%' THEN :webhook_budget ELSE :budget END)
          AND ((o.status = 'pending' AND o.next_attempt_at <= :now)
               OR (o.status = 'sending' AND o.lease_until < :now))
        ORDER BY c.rn
        LIMIT :n
        FOR UPDATE OF o SKIP LOCKED
    )
    UPDATE notifier.outbox o
    SET status = 'sending', lease_until = :lease, attempts = o.attempts + 1
    FROM picked WHERE o.alert_id = picked.alert_id
    RETURNING o.alert_id, o.practice_id, o.channel, o.endpoint_key, o.address, o.alert,
              o.attempts, o.created_at, o.last_error, picked.previous_status
    """
)


class Dispatcher(OutboxLoop):
    def __init__(
        self,
        settings: NotifierSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        clock: Clock = utcnow,
        senders: dict[str, Sender] | None = None,
    ) -> None:
        super().__init__(settings, settings.dispatcher_poll_s, settings.webhook_timeout_s + 1)
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.publisher = publisher
        self.clock = clock
        self.client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
            follow_redirects=False,
        )
        self.senders: dict[str, Sender] = senders or {
            "email": EmailSender(settings),
            "sms": SmsSender(settings, self.client),
            "webhook": WebhookSender(settings, self.client, self.webhook),
        }
        self.inflight: dict[str, int] = defaultdict(int)
        self.failures: dict[str, int] = defaultdict(int)
        self.paused_until: dict[str, datetime] = {}
        self.semaphores: dict[str, asyncio.Semaphore] = {}
        self._hooks: dict[tuple[str, str], tuple[float, Webhook | None]] = {}

    # -- lifecycle (the loop itself is OutboxLoop's) ------------------------------------
    async def close(self) -> None:
        await self.client.aclose()

    # -- claiming --------------------------------------------------------------------------
    def budget(self, channel_or_key: str) -> int:
        batch = self.settings.webhook_batch_max if channel_or_key.startswith("webhook:") else 1
        return max(1, self.settings.endpoint_concurrency * batch * 2)

    def paused(self, key: str, now: datetime) -> bool:
        until = self.paused_until.get(key)
        if until is None:
            return False
        if until <= now:
            del self.paused_until[key]
            PAUSED.set(len(self.paused_until))
            return False
        return True

    async def claim_and_send(self) -> int:
        now = self.clock()
        total = sum(self.inflight.values())
        room = self.settings.dispatcher_max_inflight - total
        if room <= 0:
            return 0
        excluded = [k for k in list(self.paused_until) if self.paused(k, now)]
        excluded += [k for k, n in self.inflight.items() if n >= self.budget(k)]
        budgets = {k: self.budget(k) - n for k, n in self.inflight.items() if n > 0}
        async with self.sessionmaker() as session, session.begin():
            rows = (
                await session.execute(
                    CLAIM,
                    {
                        "now": now,
                        "excluded": excluded,
                        "scan": room * 4,
                        "budgets": json.dumps(budgets),
                        "budget": self.budget("smtp"),
                        "webhook_budget": self.budget("webhook:"),
                        "n": room,
                        "lease": now + timedelta(seconds=self.settings.send_lease_s),
                    },
                )
            ).all()
        if not rows:
            return 0
        groups: dict[str, list[OutboxItem]] = defaultdict(list)
        for r in rows:
            groups[r.endpoint_key].append(
                OutboxItem(
                    r.alert_id,
                    r.practice_id,
                    r.channel,
                    r.endpoint_key,
                    r.address,
                    r.alert,
                    r.attempts,
                    queued_at=r.created_at,
                    outcome_unknown=outcome_unknown(r.previous_status, r.last_error),
                )
            )
        for key, items in groups.items():
            self.inflight[key] += len(items)
            sender = self.senders[items[0].channel]
            for i in range(0, len(items), max(1, sender.batch_max)):
                chunk = items[i : i + max(1, sender.batch_max)]
                task = asyncio.create_task(self._deliver(key, sender, chunk))
                self.track(task)
        return len(rows)

    # -- sending ---------------------------------------------------------------------------
    async def _deliver(self, key: str, sender: Sender, items: list[OutboxItem]) -> None:
        try:
            sem = self.semaphores.setdefault(
                key, asyncio.Semaphore(max(1, self.settings.endpoint_concurrency))
            )
            async with sem:
                if self.paused(key, self.clock()):
                    await self._release(items, self.paused_until[key])
                    return
                try:
                    results = await sender.send(items)
                except Exception as exc:  # a sender bug must not lose the alerts
                    log.exception("sender_failed", endpoint=key, error=type(exc).__name__)
                    results = [SendResult(i.alert_id, False, "sender_error") for i in items]
            suppressed = sum(1 for r in results if r.already_sent)
            if suppressed:
                SUPPRESSED.labels(items[0].channel).inc(suppressed)
                log.info("alert_resend_suppressed", endpoint=key, count=suppressed)
            await self._finish(key, items, results)
        except Exception as exc:
            # Database or Kafka trouble while recording: the lease brings the rows back.
            log.warning("delivery_not_recorded", endpoint=key, error=type(exc).__name__)
        finally:
            self.inflight[key] -= len(items)
            if self.inflight[key] <= 0:
                self.inflight.pop(key, None)
            self._wake.set()

    def backoff(self, attempts: int) -> float:
        s = self.settings
        return min(s.send_backoff_initial_s * 2 ** max(0, attempts - 1), s.send_backoff_max_s)

    async def _finish(
        self, key: str, items: list[OutboxItem], results: Sequence[SendResult]
    ) -> None:
        now = self.clock()
        by_id = {r.alert_id: r for r in results}
        done: list[tuple[OutboxItem, SendResult, bool]] = []  # (item, result, final failure)
        retry: list[tuple[OutboxItem, SendResult]] = []
        for item in items:
            res = by_id.get(item.alert_id) or SendResult(item.alert_id, False, "no_result")
            if res.ok or res.permanent or item.attempts >= self.settings.send_max_attempts:
                done.append((item, res, not res.ok))
            else:
                retry.append((item, res))
        transient = [r for _, r in retry] + [
            r for i, r, failed in done if failed and not r.permanent
        ]
        if transient:
            self.failures[key] += 1
            pause = self.backoff(self.failures[key])
            self.paused_until[key] = now + timedelta(seconds=pause)
            self.due_in(pause)
            PAUSED.set(len(self.paused_until))
            log.warning(
                "endpoint_backing_off",
                endpoint=key,
                why=transient[0].why,
                consecutive_failures=self.failures[key],
                pause_s=pause,
            )
        elif any(r.ok for _, r, _ in done):
            self.failures.pop(key, None)

        o = storage.outbox
        async with self.sessionmaker() as session, session.begin():
            ok_ids = [i.alert_id for i, r, _ in done if r.ok]
            if ok_ids:
                await session.execute(
                    update(o)
                    .where(o.c.alert_id.in_(ok_ids))
                    .values(status="sent", done_at=now, lease_until=None)
                )
            failed = [(i, r) for i, r, f in done if f]
            if failed:
                await session.execute(
                    update(o)
                    .where(o.c.alert_id == bindparam("aid"))
                    .values(
                        status="failed", done_at=now, last_error=bindparam("why"), lease_until=None
                    ),
                    [{"aid": i.alert_id, "why": r.why} for i, r in failed],
                )
            if retry:
                await session.execute(
                    update(o)
                    .where(o.c.alert_id == bindparam("aid"))
                    .values(
                        status="pending",
                        next_attempt_at=bindparam("next_at"),
                        last_error=bindparam("why"),
                        lease_until=None,
                    ),
                    [
                        {
                            "aid": i.alert_id,
                            "why": r.why,
                            "next_at": now + timedelta(seconds=self.backoff(i.attempts)),
                        }
                        for i, r in retry
                    ],
                )
        if retry:
            self.due_in(min(self.backoff(i.attempts) for i, _ in retry))
            SENT.labels(items[0].channel, "retry").inc(len(retry))
        if done:
            events = [self._event(i, r, now) for i, r, _ in done]
            await self.publisher.publish(events)
            async with self.sessionmaker() as session, session.begin():
                await session.execute(
                    update(o)
                    .where(o.c.alert_id.in_([i.alert_id for i, _, _ in done]))
                    .values(reported=True)
                )
            for i, r, _ in done:
                SENT.labels(i.channel, "sent" if r.ok else "failed").inc()

    def _event(self, item: OutboxItem, result: SendResult, now: datetime) -> Event:
        if result.ok:
            return sent_event(item.alert, item.attempts, now)
        why = result.why or "failed"
        if not result.permanent:
            why = f"{why}_after_{item.attempts}_attempts"
        return failed_event(item.alert, why, item.attempts, now)

    async def _release(self, items: list[OutboxItem], at: datetime) -> None:
        """Put claimed alerts back untouched (the endpoint is paused): no attempt is used."""
        self.due_in((at - self.clock()).total_seconds())
        o = storage.outbox
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(o)
                .where(o.c.alert_id.in_([i.alert_id for i in items]))
                .values(
                    status="pending",
                    next_attempt_at=at,
                    attempts=o.c.attempts - 1,
                    lease_until=None,
                )
            )

    # -- reporting what a crash left unreported ----------------------------------------------
    async def report_unreported(self, older_than_s: float = 10.0) -> int:
        now = self.clock()
        o = storage.outbox
        async with self.sessionmaker() as session, session.begin():
            rows = (
                await session.execute(
                    select(o.c.alert_id, o.c.alert, o.c.status, o.c.attempts, o.c.last_error)
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
            events: list[Event] = [
                sent_event(r.alert, r.attempts, now)
                if r.status == "sent"
                else failed_event(r.alert, r.last_error or "failed", r.attempts, now)
                for r in rows
            ]
            await self.publisher.publish(events)
            await session.execute(
                update(o).where(o.c.alert_id.in_([r.alert_id for r in rows])).values(reported=True)
            )
        log.info("alerts_reported_late", count=len(rows))
        return len(rows)

    # -- webhook subscriptions ---------------------------------------------------------------
    async def webhook(self, practice_id: str, subscription_id: str) -> Webhook | None:
        """The subscription's current URL and secret (cached for a few seconds)."""
        key = (practice_id, subscription_id)
        cached = self._hooks.get(key)
        if cached is not None and time.monotonic() - cached[0] < 5.0:
            return cached[1]
        w = storage.webhooks
        async with self.sessionmaker() as session:
            row = (
                await session.execute(
                    select(w.c.url, w.c.secret).where(
                        w.c.practice_id == practice_id, w.c.subscription_id == subscription_id
                    )
                )
            ).first()
        hook = Webhook(subscription_id, row.url, row.secret or "") if row and row.url else None
        self._hooks[key] = (time.monotonic(), hook)
        return hook
