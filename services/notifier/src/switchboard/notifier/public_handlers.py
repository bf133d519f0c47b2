"""The public stream's two consumers in the notifier (ADR 0022). Each is a batch handler
under the platform's consumer policy (one transaction per batch, offsets committed after it,
what it returns published with acks=all before that commit).

- `PublicStreamHandler` (group `notifier-public`: messages, routing, actions, delivery):
  translates internal events into public ones (public_stream.py) and returns them to be
  published. It remembers which conversations it announced, so `conversation.created`
  comes once, before the conversation's first message. A crash between the publish and the
  commit publishes the same events again, with the same ids: subscribers drop them.
- `WebhookIntakeHandler` (group `notifier-webhooks`: the two public topics): keeps each public
  event and queues one delivery per subscribed endpoint of its practice (webhook_dispatch.py
  sends them). Re-reading an event inserts nothing new (both keyed by deterministic ids).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import Event, MessageReceived, deterministic_id
from switchboard.events.public import PublicContentEvent, PublicConversationEvent
from switchboard.notifier import storage
from switchboard.notifier.public_stream import in_stream_order, translate

TRANSLATED = Counter(
    "switchboard_public_events_total", "Public events produced by the translator", ["event_type"]
)
QUEUED = Counter(
    "switchboard_event_webhook_deliveries_queued_total", "Event webhook deliveries queued"
)


class PublicStreamHandler:
    async def __call__(self, session: AsyncSession, events: Sequence[Event]) -> list[Event]:
        ordered = in_stream_order(list(events))
        received = [e for e in ordered if isinstance(e, MessageReceived)]
        pc = storage.public_conversations
        announced: set[uuid.UUID] = set()
        if received:
            rows = await session.execute(
                select(pc.c.conversation_id).where(
                    pc.c.conversation_id.in_({e.conversation_id for e in received})
                )
            )
            announced = set(rows.scalars())
        out: list[Event] = []
        for event in ordered:
            new = isinstance(event, MessageReceived) and event.conversation_id not in announced
            if new and isinstance(event, MessageReceived):
                announced.add(event.conversation_id)
                await session.execute(
                    insert(pc)
                    .values(
                        conversation_id=event.conversation_id,
                        practice_id=event.practice_id,
                        created_at=event.received_at,
                    )
                    .on_conflict_do_nothing()
                )
            out.extend(translate(event, new_conversation=new))
        for e in out:
            TRANSLATED.labels(e.event_type).inc()
        return out


def delivery_id(endpoint_id: uuid.UUID, event_id: uuid.UUID, *again: str) -> uuid.UUID:
    """One delivery per (endpoint, event); a redelivery request adds its own part."""
    return deterministic_id("event-webhook", endpoint_id, event_id, *again)


class WebhookIntakeHandler:
    async def __call__(self, session: AsyncSession, events: Sequence[Event]) -> list[Event]:
        public = [e for e in events if isinstance(e, PublicConversationEvent | PublicContentEvent)]
        if not public:
            return []
        pe = storage.public_events
        await session.execute(
            insert(pe)
            .values(
                [
                    {
                        "event_id": e.event_id,
                        "practice_id": e.practice_id,
                        "conversation_id": e.conversation_id,
                        "event_type": e.event_type,
                        "occurred_at": e.occurred_at,
                        "payload": e.model_dump(mode="json"),
                    }
                    for e in public
                ]
            )
            .on_conflict_do_nothing(index_elements=["event_id"])
        )
        ep = storage.event_endpoints
        rows = (
            await session.execute(
                select(ep.c.endpoint_id, ep.c.practice_id, ep.c.event_types).where(
                    ep.c.practice_id.in_({e.practice_id for e in public})
                )
            )
        ).all()
        queued: list[dict[str, Any]] = []
        for e in public:  # in the order read: the queue's order per conversation
            for endpoint_id, practice_id, types in rows:
                if practice_id == e.practice_id and e.event_type in types:
                    queued.append(
                        {
                            "delivery_id": delivery_id(endpoint_id, e.event_id),
                            "endpoint_id": endpoint_id,
                            "practice_id": e.practice_id,
                            "conversation_id": e.conversation_id,
                            "event_id": e.event_id,
                            "event_type": e.event_type,
                            "occurred_at": e.occurred_at,
                        }
                    )
        if queued:
            # One statement: `seq` follows the order of the rows given.
            await session.execute(
                insert(storage.event_deliveries)
                .values(queued)
                .on_conflict_do_nothing(index_elements=["delivery_id"])
            )
            QUEUED.inc(len(queued))
        return []
