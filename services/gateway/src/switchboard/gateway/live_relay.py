"""The live relay behind the WebSocket (routes/live.py): live updates (I-LIVE-1, I-NOTIFY-1
in-app alerts) and who is told what.

Each gateway replica reads the live topics from their end with a group-less consumer, so
every replica sees every record, and relays to its own connected staff what concerns them:
changed conversations (routing, staff actions, replies), their in-app alerts, and who else
is viewing or typing. A conversation change is relayed once the inbox projection has applied
it (or after APPLY_WAIT_S), so the browser's one re-read already shows it. Presence a client
reports is published to Kafka, never kept in one replica's memory, so staff on different
replicas see each other.

What goes over the socket names conversations and staff, never patient data: the client
re-reads a changed conversation through the API, which applies the policies (T-2) and
records the access (T-3). Even so, a user is told only of conversations they may read now
(conversation changes, their alerts, who views or types): the same rule as the API
(conversation_access.py), asked once per event for everyone connected to this replica. A
client reports presence only in a conversation it may read.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry import trace
from pydantic import ValidationError

from switchboard.events import (
    AlertSent,
    Event,
    MessageRouted,
    PresenceChanged,
    ReplyDeliveryUpdated,
    ReplyFailed,
    ReplySent,
    Topic,
    UnknownEventError,
    decode,
)
from switchboard.events.actions import ConversationAction
from switchboard.gateway.auth import Principal
from switchboard.gateway.conversation_access import audience
from switchboard.gateway.readmodel import inbox
from switchboard.platform.kafka import connection, pace_fetches
from switchboard.platform.logging import get_logger
from switchboard.platform.service import Runtime
from switchboard.platform.telemetry import extract_context, tracer

log = get_logger(__name__)
_TRACER = tracer("switchboard.gateway.live")

LIVE_TOPICS = (Topic.ROUTING, Topic.ACTIONS, Topic.DELIVERY, Topic.NOTIFICATIONS, Topic.PRESENCE)
PRESENCE_TTL = timedelta(seconds=30)
# A client that cannot keep up loses updates rather than slowing everyone (it re-reads).
CLIENT_QUEUE = 500
# How long a conversation change waits for the projection before it is relayed anyway.
APPLY_WAIT_S = 3.0
APPLY_POLL_S = 0.02
# ReplyDeliveryUpdated too: delivered / read show live (I-DELIV-3).
CONVERSATION_EVENTS = (
    MessageRouted,
    ConversationAction,
    ReplySent,
    ReplyFailed,
    ReplyDeliveryUpdated,
)


def view(event: Event, who: Principal, visible: bool) -> dict[str, Any] | None:
    """What `who` is told about `event`, if anything; `visible`: whether `who` may read the
    conversation it concerns (T-2). Pure."""
    if event.practice_id != who.practice_id or not visible:
        return None  # T-1, T-2
    if isinstance(event, AlertSent):
        if event.channel != "in_app" or event.staff_id != who.user_id:
            return None
        return {
            "type": "alert",
            "conversation_id": str(event.conversation_id),
            "kind": event.kind,
            "why": event.why,
            "reason": event.routing_reason,
            "link": event.link,
        }
    if isinstance(event, PresenceChanged):
        if event.staff_id == who.user_id:
            return None
        return {
            "type": "presence",
            "conversation_id": str(event.conversation_id),
            "staff_id": event.staff_id,
            "display_name": event.display_name,
            "state": event.state,
            "expires_at": event.expires_at.isoformat(),
        }
    if not who.has_inbox:
        return None
    if isinstance(event, CONVERSATION_EVENTS):
        conversation_id = event.conversation_id
        return {
            "type": "conversation",
            "conversation_id": str(conversation_id),
            "change": event.event_type,
        }
    return None


@dataclass(eq=False)
class Client:
    who: Principal
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(CLIENT_QUEUE)
    )
    dropped: int = 0

    def offer(self, message: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped += 1


@dataclass
class Hub:
    """The connected clients of this replica, by practice."""

    clients: dict[str, set[Client]] = field(default_factory=lambda: defaultdict(set))
    task: asyncio.Task[None] | None = None
    settler: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    # waiting for the projection: event id -> (event, relay by, trace, the event applied first)
    pending: dict[uuid.UUID, tuple[Event, float, otel_context.Context, uuid.UUID]] = field(
        default_factory=dict
    )
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def is_ready(self) -> bool:
        return self.ready.is_set() and self.task is not None and not self.task.done()

    def add(self, client: Client) -> None:
        self.clients[client.who.practice_id].add(client)

    def remove(self, client: Client) -> None:
        self.clients[client.who.practice_id].discard(client)

    async def dispatch(
        self, rt: Runtime, event: Event, ctx: otel_context.Context | None = None
    ) -> None:
        """Offer `event` to the clients it concerns that may read its conversation."""
        concerned = [c for c in self.clients.get(event.practice_id, ()) if view(event, c.who, True)]
        conversation_id = getattr(event, "conversation_id", None)
        if not concerned or not isinstance(conversation_id, uuid.UUID):
            return
        with _TRACER.start_as_current_span(
            "gateway live push",
            context=ctx if ctx is not None else extract_context(None, event.traceparent),
            kind=trace.SpanKind.CONSUMER,
            attributes={"switchboard.event_type": event.event_type},
        ) as span:
            try:
                async with rt.sessionmaker() as session:
                    allowed = await audience(
                        session, event.practice_id, conversation_id, [c.who for c in concerned]
                    )
            except Exception as exc:  # the database is away: tell nobody rather than anybody
                log.warning("live_audience_failed", error=type(exc).__name__)
                return
            offered = 0
            for client in concerned:
                message = view(event, client.who, client.who.user_id in allowed)
                if message is not None:
                    client.offer(message)
                    offered += 1
            span.set_attribute("switchboard.live.clients", offered)

    async def relay(self, rt: Runtime) -> None:
        settings = rt.settings
        consumer = AIOKafkaConsumer(
            *(settings.topic(t) for t in LIVE_TOPICS),
            **connection(settings),
            group_id=None,  # every replica reads everything, from now on
            auto_offset_reset="latest",
            enable_auto_commit=False,
            client_id=f"{settings.service_name}-live",
            fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
        )
        while True:
            try:
                await consumer.start()
                break
            except Exception as exc:  # Kafka not reachable yet: retry, readiness reports it
                log.warning("live_relay_waiting", error=type(exc).__name__)
                await asyncio.sleep(1)
        try:
            # A group-less subscription is assigned as topic metadata arrives: wait until every
            # live topic has its partitions, and fix each at its end, before saying we are live
            # (a partition positioned later would skip what was written meanwhile).
            wanted = {settings.topic(t) for t in LIVE_TOPICS}
            while {tp.topic for tp in consumer.assignment()} != wanted:  # noqa: ASYNC110 - aiokafka offers no event for it
                await asyncio.sleep(0.1)
            for tp in consumer.assignment():
                await consumer.position(tp)
            self.ready.set()
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=1000)
                pace_fetches(consumer, settings, busy=any(batches.values()))
                for records in batches.values():
                    for record in records:
                        try:
                            event = decode(record.value)
                        except (UnknownEventError, ValidationError):
                            continue  # not ours to judge: the consumers dead-letter it
                        ctx = extract_context(record.headers, event.traceparent)
                        waits_for = _applied_first(event)
                        if waits_for is not None and self.clients.get(event.practice_id):
                            deadline = asyncio.get_running_loop().time() + APPLY_WAIT_S
                            self.pending[event.event_id] = (event, deadline, ctx, waits_for)
                            self.arrived.set()
                        else:
                            await self.dispatch(rt, event, ctx)
        finally:
            await consumer.stop()

    async def settle(self, rt: Runtime) -> None:
        """Relay pending conversation changes as the projection applies them: one query per
        round for everything pending, and nothing while nothing is pending."""
        loop = asyncio.get_running_loop()
        while True:
            await self.arrived.wait()
            try:
                async with rt.sessionmaker() as session:
                    waited = [w for _, _, _, w in self.pending.values()]
                    done = set(await inbox.outcomes(session, waited))
            except Exception as exc:  # the database is away: relay on the deadline only
                log.warning("live_settle_failed", error=type(exc).__name__)
                done = set()
            now = loop.time()
            for event_id, (event, deadline, ctx, waits_for) in list(self.pending.items()):
                if waits_for in done or now >= deadline:
                    del self.pending[event_id]
                    await self.dispatch(rt, event, ctx)
            if not self.pending:
                self.arrived.clear()
            else:
                await asyncio.sleep(APPLY_POLL_S)


def _applied_first(event: Event) -> uuid.UUID | None:
    """The event the inbox projection must have applied before `event` is relayed: its own
    id for a conversation change (the browser re-reads it at once); for an in-app alert, the
    routing decision that caused it, so the access check finds the conversation (an alert
    overtaking the projection would otherwise be told to nobody)."""
    if isinstance(event, CONVERSATION_EVENTS):
        return event.event_id
    if isinstance(event, AlertSent) and event.causation_id is not None:
        return event.causation_id
    return None


async def start(app: FastAPI, rt: Runtime) -> None:
    hub: Hub = app.state.hub
    hub.task = asyncio.create_task(hub.relay(rt), name="live-relay")
    hub.settler = asyncio.create_task(hub.settle(rt), name="live-settle")


async def stop(app: FastAPI, rt: Runtime) -> None:
    hub: Hub = app.state.hub
    for task in (hub.task, hub.settler):
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
