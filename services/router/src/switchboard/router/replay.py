"""What-if over the real log (X-WHATIF-1): read the past N days of MessageReceived from Kafka
and run them through `decide` under the current and the proposed configuration.

Each message meets the conversation and patient state it met live,
stored beside its decision.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import MessageReceived, Topic, UnknownEventError, decode
from switchboard.platform.kafka import connection
from switchboard.platform.settings import ServiceSettings
from switchboard.router import queries
from switchboard.router.model import InboundMessage, RouterState, RoutingSettings, Subscription
from switchboard.router.snapshots import states_from
from switchboard.router.whatif import WhatIfReport, what_if


async def messages_since(
    settings: ServiceSettings, practice_id: str, since: datetime
) -> list[MessageReceived]:
    """Every MessageReceived of the practice written at or after `since`, in log order."""
    topic = settings.topic(Topic.MESSAGES)
    # Without a group id the consumer is given every partition of the topic, and commits
    # nothing: a what-if never moves the router's own offsets.
    consumer = AIOKafkaConsumer(
        topic,
        **connection(settings),
        group_id=None,
        enable_auto_commit=False,
        client_id=f"{settings.service_name}-what-if",
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        partitions = sorted(consumer.assignment())
        starts = await consumer.offsets_for_times(
            {tp: int(since.timestamp() * 1000) for tp in partitions}
        )
        ends = await consumer.end_offsets(partitions)
        todo = {}
        for tp in partitions:
            start = starts.get(tp)
            if start is None or start.offset >= ends[tp]:
                continue
            consumer.seek(tp, start.offset)
            todo[tp] = ends[tp]
        for tp in set(partitions) - set(todo):
            consumer.pause(tp)
        found: list[MessageReceived] = []
        while todo:
            batches = await consumer.getmany(*todo, timeout_ms=1000, max_records=5000)
            for tp, records in batches.items():
                for record in records:
                    if record.offset >= todo.get(tp, 0):
                        continue
                    try:
                        event = decode(record.value)
                    except (UnknownEventError, ValidationError):
                        continue  # unreadable records are the dead-letter topic's business
                    if isinstance(event, MessageReceived) and event.practice_id == practice_id:
                        found.append(event)
            for tp in list(todo):
                if await consumer.position(tp) >= todo[tp]:
                    todo.pop(tp)
        return sorted(found, key=lambda e: (e.received_at, str(e.message_id)))
    finally:
        await consumer.stop()


async def replay_what_if(
    session: AsyncSession,
    settings: ServiceSettings,
    practice_id: str,
    days: float,
    now: datetime,
    proposed: RoutingSettings,
    proposed_subscriptions: list[Subscription] | None,
) -> WhatIfReport:
    config = await queries.current_config(session, practice_id)
    messages = await messages_since(settings, practice_id, now - timedelta(days=days))
    inputs = await queries.inputs_for_messages(
        session, practice_id, [m.message_id for m in messages]
    )
    history: list[tuple[InboundMessage, RouterState]] = []
    for event in messages:
        patient_id, conversation, patient = states_from(
            inputs.get(event.message_id, {"patient_id": event.patient_id}), event.conversation_id
        )
        message = replace(InboundMessage.from_event(event, config.settings), patient_id=patient_id)
        history.append((message, RouterState(conversation=conversation, patient=patient)))
    return what_if(
        history,
        config.settings,
        proposed,
        current_subscriptions=config.subscription_list,
        proposed_subscriptions=proposed_subscriptions
        if proposed_subscriptions is not None
        else config.subscription_list,
    )
