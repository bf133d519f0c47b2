"""The timer loop (X-SLA-1): fires due response timers exactly once, across processes,
restarts and SIGKILL.

Each round is one transaction: claim due timers with SELECT ... FOR UPDATE SKIP LOCKED (a
second notifier skips them), plan the escalation alerts, publish ConversationEscalated and
the in-app alerts (acks=all), insert the external alerts into the outbox, mark the timers
fired, commit. A process killed before the commit leaves the timers pending and unlocked;
the next round fires them again with the same deterministic event ids, so consumers drop
the duplicate record. A timer marked fired is never claimed again."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.events import (
    ConversationAssigned,
    ConversationEscalated,
    Event,
    deterministic_id,
)
from switchboard.notifier import storage
from switchboard.notifier.alerts import Cause, materialize
from switchboard.notifier.fanout import AlertRequest, escalation_targets, plan_fanout
from switchboard.notifier.handlers import Clock, utcnow
from switchboard.notifier.settings import NotifierSettings
from switchboard.notifier.state import CoalesceState, Directory
from switchboard.platform.consumer import is_transient
from switchboard.platform.idle import IdlePacer
from switchboard.platform.kafka import Publisher
from switchboard.platform.logging import get_logger
from switchboard.platform.readiness import Backoff

log = get_logger(__name__)

FIRED = Counter(
    "switchboard_notifier_timers_fired_total", "Response timers fired: the SLA was breached"
)
PENDING = Gauge("switchboard_notifier_timers_pending", "Response timers running (SLA not yet met)")
COALESCE_RETENTION_S = 2 * 24 * 3600


class TimerLoop:
    def __init__(
        self,
        settings: NotifierSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.publisher = publisher
        self.clock = clock
        self.ready = False
        self._stopping = asyncio.Event()
        self._backoff = Backoff()
        self.pacer = IdlePacer(settings.timer_poll_s, started_at=time.monotonic())
        self._rounds = 0

    def stop(self) -> None:
        self._stopping.set()
        self._backoff.wake()

    def wake(self) -> None:
        """Run a round now (readiness asks after a failure: the database may be back)."""
        self._backoff.wake()

    async def run(self) -> None:
        delay = self.settings.consumer_backoff_initial_s
        while not self._stopping.is_set():
            try:
                fired = await self.fire_due()
                self.ready = True
                delay = self.settings.consumer_backoff_initial_s
                self._rounds += 1
                if self._rounds % 10 == 1:
                    await self.count_pending()
                if self._rounds % 1200 == 0:
                    await self.forget_old_coalescing()
            except Exception as exc:
                self.ready = False
                if not is_transient(exc):
                    log.exception("timer_round_failed", error=type(exc).__name__)
                else:
                    log.warning("timer_round_retrying", error=type(exc).__name__)
                await self._sleep(delay)
                delay = min(delay * 2, self.settings.consumer_backoff_max_s)
                continue
            if fired < self.settings.timer_batch_max:
                if fired:
                    self.pacer.worked(time.monotonic())
                elif self.pacer.quiet(time.monotonic()):
                    await self.note_next_due()  # only a long sleep could pass it
                await self._sleep(self.pacer.sleep_s(time.monotonic()))

    async def note_next_due(self) -> None:
        """Wake for the soonest pending timer however quiet the loop is (platform/idle.py);
        a timer scheduled later is due minutes on, past the loop's longest sleep."""
        t = storage.timers
        async with self.sessionmaker() as session:
            due = await session.scalar(select(func.min(t.c.due_at)).where(t.c.status == "pending"))
        if due is not None:
            self.pacer.due_in((due - self.clock()).total_seconds(), time.monotonic())

    async def _sleep(self, seconds: float) -> None:
        if not self._stopping.is_set():
            await self._backoff.sleep(seconds)

    async def count_pending(self) -> None:
        t = storage.timers
        async with self.sessionmaker() as session:
            count = await session.scalar(
                select(func.count()).select_from(t).where(t.c.status == "pending")
            )
        PENDING.set(count or 0)

    async def fire_due(self) -> int:
        """Fire every timer due by the clock's now (up to one batch). Returns how many."""
        now = self.clock()
        t = storage.timers
        async with self.sessionmaker() as session, session.begin():
            rows = (
                (
                    await session.execute(
                        select(t)
                        .where(t.c.status == "pending", t.c.due_at <= now)
                        .order_by(t.c.due_at)
                        .limit(self.settings.timer_batch_max)
                        .with_for_update(skip_locked=True)
                    )
                )
                .mappings()
                .all()
            )
            if not rows:
                return 0
            events, outbox_rows, fired = await self._escalate(session, rows, now)
            await self.publisher.publish(events)
            if outbox_rows:
                await session.execute(insert(storage.outbox).on_conflict_do_nothing(), outbox_rows)
            for timer_id, event_id in fired:
                await session.execute(
                    update(t)
                    .where(t.c.timer_id == timer_id)
                    .values(status="fired", fired_at=now, escalation_event_id=event_id)
                )
        FIRED.inc(len(fired))
        log.info("timers_fired", count=len(fired))
        return len(fired)

    async def _escalate(
        self, session: AsyncSession, rows: Any, now: datetime
    ) -> tuple[list[Event], list[dict[str, Any]], list[tuple[uuid.UUID, uuid.UUID]]]:
        directory = Directory()
        await directory.load_practices(session, {r["practice_id"] for r in rows})
        staff: set[tuple[str, str]] = set()
        for r in rows:
            config = directory.config(r["practice_id"])
            for s, _ in escalation_targets(tuple(r["recipients"]), r["assignee"], config):
                staff.add((r["practice_id"], s))
        await directory.load_staff(session, staff)
        coalesce = CoalesceState()
        await coalesce.load(session, {r["conversation_id"] for r in rows})
        events: list[Event] = []
        outbox_rows: list[dict[str, Any]] = []
        fired: list[tuple[uuid.UUID, uuid.UUID]] = []
        for r in rows:
            practice_id = r["practice_id"]
            config = directory.config(practice_id)
            request = AlertRequest(
                kind="escalation",
                cause_id=r["timer_id"],
                conversation_id=r["conversation_id"],
                at=r["due_at"],
                targets=escalation_targets(tuple(r["recipients"]), r["assignee"], config),
                message_id=r["message_id"],
                patient_id=r["patient_id"],
                routing_reason=r["routing_reason"],
            )
            plan = plan_fanout(
                request,
                config,
                directory.profiles(practice_id),
                coalesce.for_conversation(r["conversation_id"]),
            )
            for staff_key in plan.alerted:
                coalesce.record(practice_id, r["conversation_id"], staff_key, r["due_at"])
            escalation_id = deterministic_id(r["timer_id"], "escalated")
            escalated = ConversationEscalated(
                event_id=escalation_id,
                occurred_at=now,
                practice_id=practice_id,
                correlation_id=r["correlation_id"],
                causation_id=r["cause_event_id"],
                conversation_id=r["conversation_id"],
                timer_id=r["timer_id"],
                started_at=r["started_at"],
                due_at=r["due_at"],
                target_minutes=r["target_minutes"],
                routing_reason=r["routing_reason"],
                alerted_staff_ids=tuple(dict.fromkeys(a.staff_id for a in plan.alerts)),
                reassign_to=config.escalation_reassign_to,
                escalated_at=now,
            )
            cause = Cause(practice_id, r["correlation_id"], escalation_id)
            alert_events, rows_out = materialize(plan, request, cause, now, self.settings)
            events.append(escalated)
            if config.escalation_reassign_to and config.escalation_reassign_to != r["assignee"]:
                # The reassignment is a staff action like any other, by the system, so the
                # inbox and the router apply it the same way (X-SLA-1).
                reassign_id = deterministic_id(escalation_id, "reassign")
                events.append(
                    ConversationAssigned(
                        event_id=reassign_id,
                        occurred_at=now,
                        practice_id=practice_id,
                        correlation_id=r["correlation_id"],
                        causation_id=escalation_id,
                        conversation_id=r["conversation_id"],
                        actor="system:escalation",
                        assignee=config.escalation_reassign_to,
                    )
                )
            events.extend(alert_events)
            outbox_rows.extend(rows_out)
            fired.append((r["timer_id"], escalation_id))
        await coalesce.save(session)
        return events, outbox_rows, fired

    async def forget_old_coalescing(self) -> None:
        """Coalescing state older than any window is of no use: drop it."""
        cutoff = self.clock() - timedelta(seconds=COALESCE_RETENTION_S)
        t = storage.coalesce
        async with self.sessionmaker() as session, session.begin():
            await session.execute(delete(t).where(t.c.last_alert_at < cutoff))
