"""The notifier's consumer: routing decisions become alerts and timers, configuration events
update settings, replies stop timers, a note's @mentions alert each colleague named
(I-NOTE-1: in-app, and email/SMS per their preferences, like a message alert). One batch =
one transaction (the consumer policy).

External sends never happen here: email, SMS and webhook alerts become outbox rows keyed by
their deterministic alert id (a redelivered event inserts nothing new), and the dispatcher
sends them. In-app alerts, failures for want of an address, and orphan alerts are events
this handler returns for the consumer to publish."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import (
    ConversationSnoozed,
    ConversationStatusChanged,
    ConversationWoke,
    Event,
    MessageRouted,
    NoteAdded,
    OrphanAlertRaised,
    ReplyFailed,
    ReplySent,
    deterministic_id,
)
from switchboard.notifier import storage
from switchboard.notifier.alerts import Cause, materialize
from switchboard.notifier.fanout import (
    AlertRequest,
    mention_targets,
    message_targets,
    plan_fanout,
)
from switchboard.notifier.settings import NotifierSettings
from switchboard.notifier.sla import TimerPlan, plan_timer, reply_stops_timer, resumed_due
from switchboard.notifier.state import CONFIG_EVENTS, CoalesceState, Directory
from switchboard.platform.logging import get_logger

log = get_logger(__name__)

HANDLED = (
    MessageRouted,
    ReplySent,
    ReplyFailed,
    ConversationStatusChanged,
    NoteAdded,
    ConversationSnoozed,
    ConversationWoke,
    *CONFIG_EVENTS,
)
# Events that pause or resume a conversation's response timer (I-SNOOZE-1).
SNOOZE_EVENTS = (ConversationSnoozed, ConversationWoke)
SKIPPED = Counter(
    "switchboard_notifier_skipped_total", "Events the notifier reads past", ["reason"]
)
PLANNED = Counter(
    "switchboard_notifier_alerts_planned_total", "Alerts planned", ["channel", "kind"]
)
COALESCED = Counter("switchboard_notifier_coalesced_total", "Alerts coalesced into an earlier one")

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class NotifierHandler:
    def __init__(self, settings: NotifierSettings, clock: Clock = utcnow) -> None:
        self.settings = settings
        self.clock = clock

    async def __call__(self, session: AsyncSession, events: Sequence[Event]) -> list[Event]:
        # Configuration first: a poll mixes topics, and a decision fetched beside a settings
        # change published before it should see the change. (Kafka orders nothing across
        # topics; this closes the gap within one poll, e.g. when catching up after a start.)
        mine = sorted(
            (e for e in events if isinstance(e, HANDLED)),
            key=lambda e: not isinstance(e, CONFIG_EVENTS),
        )
        if len(mine) < len(events):
            # Other services' events on the same topics (routing settings on the config
            # topic, say): read past them, never dead-letter them.
            SKIPPED.labels("not_for_notifier").inc(len(events) - len(mine))
        if not mine:
            return []
        now = self.clock()
        too_old = now - timedelta(seconds=self.settings.alert_max_age_s)
        routed = [e for e in mine if isinstance(e, MessageRouted)]
        fresh = [e for e in routed if e.decided_at >= too_old]
        if len(fresh) < len(routed):
            SKIPPED.labels("too_old").inc(len(routed) - len(fresh))
        conversations = {e.conversation_id for e in fresh} | {
            e.conversation_id
            for e in mine
            if isinstance(e, ReplySent | ConversationStatusChanged | ConversationSnoozed)
        }

        directory = Directory()
        await directory.load_practices(session, {e.practice_id for e in fresh})
        await directory.load_staff(
            session,
            {
                (e.practice_id, s)
                for e in fresh
                for s, _ in message_targets(e.recipients, e.assignee)
            }
            | {
                (e.practice_id, s)
                for e in fresh
                for s in directory.config(e.practice_id).front_line
            },
        )
        coalesce = CoalesceState()
        await coalesce.load(session, conversations)
        running = await self._running_timers(session, conversations)
        new_timers: dict[uuid.UUID, tuple[MessageRouted, TimerPlan]] = {}
        out: list[Event] = []
        outbox_rows: list[dict[str, Any]] = []
        fresh_ids = {e.event_id for e in fresh}

        for event in mine:
            if isinstance(event, CONFIG_EVENTS):
                await directory.apply(session, event)
            elif isinstance(event, NoteAdded):
                await self._mentioned(event, directory, now, out, outbox_rows, session)
            elif isinstance(event, MessageRouted):
                if event.event_id not in fresh_ids:
                    continue
                await self._routed(event, directory, coalesce, now, out, outbox_rows, session)
                if event.trigger == "message":  # the patient wrote: a snooze ends
                    started = await self._resume(session, event.conversation_id, event.decided_at)
                    if started is not None:
                        running[event.conversation_id] = started
                config = directory.config(event.practice_id)
                has_timer = event.conversation_id in running or event.conversation_id in new_timers
                timer = plan_timer(event, config, running=has_timer)
                if timer is not None:
                    new_timers[event.conversation_id] = (event, timer)
            elif isinstance(event, ReplySent):
                coalesce.clear(event.conversation_id)
                pending = new_timers.get(event.conversation_id)
                if pending and reply_stops_timer(pending[1].started_at, event.sent_at):
                    del new_timers[event.conversation_id]
                started = running.get(event.conversation_id)
                if started is not None and reply_stops_timer(started, event.sent_at):
                    await self._cancel_timers(session, event.conversation_id, event.sent_at, now)
                    del running[event.conversation_id]
            elif isinstance(event, ConversationSnoozed):
                # Paused, not stopped (I-SNOOZE-1): a timer of this batch is written first.
                pending = new_timers.pop(event.conversation_id, None)
                if pending is not None:
                    await session.execute(
                        insert(storage.timers).on_conflict_do_nothing(),
                        [self._timer_row(*pending)],
                    )
                await self._pause(session, event.conversation_id, event.occurred_at)
                if pending is not None:
                    running[event.conversation_id] = pending[1].started_at
            elif isinstance(event, ConversationWoke) or (
                isinstance(event, ConversationStatusChanged) and event.status == "open"
            ):
                started = await self._resume(session, event.conversation_id, event.occurred_at)
                if started is not None:
                    running[event.conversation_id] = started
            elif isinstance(event, ConversationStatusChanged) and event.status == "closed":
                # Closed without a reply (handled elsewhere, or nothing to answer): staff
                # decided, so the conversation no longer waits for a first response.
                pending = new_timers.get(event.conversation_id)
                if pending and reply_stops_timer(pending[1].started_at, event.occurred_at):
                    del new_timers[event.conversation_id]
                started = running.get(event.conversation_id)
                if started is not None and reply_stops_timer(started, event.occurred_at):
                    await self._cancel_timers(
                        session, event.conversation_id, event.occurred_at, now
                    )
                    del running[event.conversation_id]

        await coalesce.save(session)
        if outbox_rows:
            await session.execute(insert(storage.outbox).on_conflict_do_nothing(), outbox_rows)
        if new_timers:
            await session.execute(
                insert(storage.timers).on_conflict_do_nothing(),
                [self._timer_row(e, t) for e, t in new_timers.values()],
            )
        return out

    async def _routed(
        self,
        event: MessageRouted,
        directory: Directory,
        coalesce: CoalesceState,
        now: datetime,
        out: list[Event],
        outbox_rows: list[dict[str, Any]],
        session: AsyncSession,
    ) -> None:
        # A configuration event earlier in this batch may have changed the practice's
        # settings (reloaded here) or named new front-line staff.
        await directory.load_practices(session, [event.practice_id])
        config = directory.config(event.practice_id)
        missing = [
            (event.practice_id, s)
            for s in (*event.recipients, *(config.front_line), event.assignee)
            if s and (event.practice_id, s) not in directory.prefs
        ]
        if missing:
            await directory.load_staff(session, missing)
        request = AlertRequest(
            kind="message",
            cause_id=event.event_id,
            conversation_id=event.conversation_id,
            at=event.decided_at,
            targets=message_targets(event.recipients, event.assignee),
            message_id=event.message_id,
            patient_id=event.patient_id,
            routing_reason=event.reason,
        )
        plan = plan_fanout(
            request,
            config,
            directory.profiles(event.practice_id),
            coalesce.for_conversation(event.conversation_id),
        )
        for staff_key in plan.alerted:
            coalesce.record(event.practice_id, event.conversation_id, staff_key, event.decided_at)
        if plan.coalesced:
            COALESCED.inc(len(plan.coalesced))
        cause = Cause(event.practice_id, event.correlation_id, event.event_id, event.traceparent)
        events, rows = materialize(plan, request, cause, now, self.settings)
        for a in plan.alerts:
            PLANNED.labels(a.channel, a.kind).inc()
        if plan.orphan:
            events.append(
                OrphanAlertRaised.derive(
                    event,
                    event_id=deterministic_id(event.event_id, "orphan"),
                    occurred_at=now,
                    conversation_id=event.conversation_id,
                    message_id=event.message_id,
                    matched_staff_ids=tuple(s for s, _ in request.targets),
                    unavailable_staff_ids=tuple(plan.unavailable),
                    front_line_staff_ids=tuple(plan.front_line_alerted),
                    raised_at=event.decided_at,
                )
            )
        out.extend(events)
        outbox_rows.extend(rows)

    async def _mentioned(
        self,
        event: NoteAdded,
        directory: Directory,
        now: datetime,
        out: list[Event],
        outbox_rows: list[dict[str, Any]],
        session: AsyncSession,
    ) -> None:
        """Alert each colleague a note @mentions (I-NOTE-1). The gateway checked they may read
        the conversation; availability and substitutes apply as for any alert. Never
        coalesced: each mention is someone asking for them by name."""
        targets = mention_targets(event.mentions, event.actor)
        if not targets or event.occurred_at < now - timedelta(
            seconds=self.settings.alert_max_age_s
        ):
            return
        await directory.load_practices(session, [event.practice_id])
        await directory.load_staff(session, [(event.practice_id, s) for s, _ in targets])
        request = AlertRequest(
            kind="mention",
            cause_id=event.event_id,
            conversation_id=event.conversation_id,
            at=event.occurred_at,
            targets=targets,
        )
        plan = plan_fanout(
            request, directory.config(event.practice_id), directory.profiles(event.practice_id), {}
        )
        cause = Cause(event.practice_id, event.correlation_id, event.event_id, event.traceparent)
        events, rows = materialize(plan, request, cause, now, self.settings)
        for a in plan.alerts:
            PLANNED.labels(a.channel, a.kind).inc()
        out.extend(events)
        outbox_rows.extend(rows)

    async def _running_timers(
        self, session: AsyncSession, conversations: set[uuid.UUID]
    ) -> dict[uuid.UUID, datetime]:
        if not conversations:
            return {}
        t = storage.timers
        rows = await session.execute(
            select(t.c.conversation_id, t.c.started_at).where(
                t.c.conversation_id.in_(sorted(conversations)),
                t.c.status.in_(("pending", "paused")),  # a paused one resumes, never doubles
            )
        )
        return {conv: started for conv, started in rows}

    async def _pause(self, session: AsyncSession, conversation_id: uuid.UUID, at: datetime) -> None:
        t = storage.timers
        await session.execute(
            update(t)
            .where(t.c.conversation_id == conversation_id, t.c.status == "pending")
            .values(status="paused", paused_at=at)
        )

    async def _resume(
        self, session: AsyncSession, conversation_id: uuid.UUID, at: datetime
    ) -> datetime | None:
        """Run a paused timer again, due later by the pause; its start, if there was one."""
        t = storage.timers
        row = (
            await session.execute(
                select(t.c.timer_id, t.c.started_at, t.c.due_at, t.c.paused_at).where(
                    t.c.conversation_id == conversation_id, t.c.status == "paused"
                )
            )
        ).first()
        if row is None:
            return None
        await session.execute(
            update(t)
            .where(t.c.timer_id == row.timer_id)
            .values(
                status="pending",
                due_at=resumed_due(row.due_at, row.paused_at, at),
                paused_at=None,
            )
        )
        started: datetime = row.started_at
        return started

    async def _cancel_timers(
        self, session: AsyncSession, conversation_id: uuid.UUID, until: datetime, now: datetime
    ) -> None:
        t = storage.timers
        await session.execute(
            update(t)
            .where(
                t.c.conversation_id == conversation_id,
                t.c.status.in_(("pending", "paused")),
                t.c.started_at <= until,
            )
            .values(status="cancelled", cancelled_at=now)
        )

    def _timer_row(self, event: MessageRouted, timer: TimerPlan) -> dict[str, Any]:
        return {
            "timer_id": timer.timer_id,
            "practice_id": event.practice_id,
            "conversation_id": timer.conversation_id,
            "status": "pending",
            "started_at": timer.started_at,
            "due_at": timer.due_at,
            "target_minutes": timer.target_minutes,
            "routing_reason": event.reason,
            "recipients": list(event.recipients),
            "assignee": event.assignee,
            "message_id": event.message_id,
            "patient_id": event.patient_id,
            "correlation_id": event.correlation_id,
            "cause_event_id": event.event_id,
        }
