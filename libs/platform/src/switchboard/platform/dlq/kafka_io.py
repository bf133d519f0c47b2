"""The tool's Kafka: read a topic from the start without a consumer group (nothing is
committed, the services' offsets never move), publish replays and audit events acks=all."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from switchboard.events import DeadLetterReplayed, Event, Topic, decode
from switchboard.events.topics import REPLAY_TOPICS
from switchboard.platform.dlq.letters import DeadLetter, from_record, replay_headers
from switchboard.platform.kafka import Publisher, connection, make_producer, topic_partitions
from switchboard.platform.settings import ServiceSettings


async def read_topic(
    settings: ServiceSettings, topic: str, only: tuple[int, int] | None = None
) -> list[ConsumerRecord]:
    """Every record of `topic` up to its current end; `only` = (partition, offset): that one
    record (or none). A topic that does not exist reads as empty."""
    wanted = await partitions(settings, topic)
    if only is not None:
        wanted &= {only[0]}
    if not wanted:
        return []
    consumer = AIOKafkaConsumer(
        **connection(settings),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        client_id=f"{settings.service_name}-reader",
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(wanted)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        if only is not None:
            consumer.seek(tps[0], only[1])
            ends = {tps[0]: min(ends[tps[0]], only[1] + 1)}
        else:
            # An explicit position: seek_to_beginning is applied lazily and raced the
            # default reset to the end (which then read nothing).
            for tp, first in (await consumer.beginning_offsets(tps)).items():
                consumer.seek(tp, first)
        records: list[ConsumerRecord] = []
        waiting = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
        while waiting:
            batches = await consumer.getmany(*waiting, timeout_ms=1000)
            for tp, batch in batches.items():
                records.extend(r for r in batch if r.offset < ends[tp])
            waiting = {tp for tp in waiting if await consumer.position(tp) < ends[tp]}
        return records
    finally:
        await consumer.stop()


async def partitions(settings: ServiceSettings, topic: str) -> set[int]:
    """The topic's partitions; none when it does not exist."""
    return {tp.partition for tp in await topic_partitions(settings, [topic])}


async def dead_letters(
    settings: ServiceSettings, only: tuple[int, int] | None = None
) -> list[DeadLetter]:
    records = await read_topic(settings, settings.topic(Topic.DEAD_LETTER), only)
    return [
        from_record(r.partition, r.offset, r.timestamp, r.key, r.value, r.headers)
        for r in records
        if only is None or (r.partition, r.offset) == only
    ]


async def replays(settings: ServiceSettings) -> dict[str, list[DeadLetterReplayed]]:
    """The replays recorded so far, by dead letter id."""
    found: dict[str, list[DeadLetterReplayed]] = {}
    for r in await read_topic(settings, settings.topic(Topic.OPERATIONS)):
        try:
            event = decode(r.value)
        except ValueError:  # not ours to judge; nothing else writes there today
            continue
        if isinstance(event, DeadLetterReplayed):
            found.setdefault(event.dead_letter_id, []).append(event)
    return found


def replay_topic(settings: ServiceSettings, consumer: str) -> str | None:
    topic = REPLAY_TOPICS.get(consumer)
    return settings.topic(topic) if topic else None


def action_envelope(letter: DeadLetter) -> dict[str, Any]:
    """Envelope of an audit event about `letter`: its practice and the story it belongs to."""
    event_id = uuid.uuid4()  # each action is its own fact, even on the same dead letter
    return {
        "event_id": event_id,
        "occurred_at": datetime.now(UTC),
        "practice_id": letter.practice_id or "unknown",
        "correlation_id": letter.event_id or event_id,
        "causation_id": letter.event_id,
        "consumer": letter.consumer,
        "dead_letter_id": letter.id,
        "dead_event_id": letter.event_id,
    }


class Writer:
    """One producer (acks=all, idempotent) for the raw replays and the audit events."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.publisher = Publisher(make_producer(settings), settings, connected=False)

    async def __aenter__(self) -> Writer:
        if not await self.publisher.connect():
            raise ConnectionError("Kafka unreachable")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.publisher.close()

    async def record(self, events: Sequence[Event]) -> None:
        await self.publisher.publish(events)

    async def replay(self, letter: DeadLetter, topic: str) -> None:
        """The dead letter's record, unchanged (same event, same id, same key), on `topic`."""
        await self.publisher.producer.send_and_wait(
            topic, value=letter.value, key=letter.key, headers=replay_headers(letter)
        )
