"""Durable Kafka producing: acks=all, idempotence, trace headers, bounded waits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from switchboard.events import Event, Topic, encode, topic_for
from switchboard.events.topics import PARTITIONS
from switchboard.platform.settings import ServiceSettings
from switchboard.platform.telemetry import inject_headers


class PublishError(RuntimeError):
    """Kafka did not acknowledge in time; the caller must not report success."""


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    # aiokafka defaults to acks=1 without idempotence: a leader failover could lose or
    # duplicate records. Both are set explicitly here, for every service.
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=settings.service_name,
        acks="all",
        enable_idempotence=True,
        linger_ms=settings.producer_linger_ms,
        request_timeout_ms=int(settings.publish_timeout_s * 1000) + 1000,
        retry_backoff_ms=100,
    )


def record_headers(event: Event) -> list[tuple[str, bytes]]:
    return [
        ("event_type", event.event_type.encode()),
        ("version", str(event.version).encode()),
        ("event_id", str(event.event_id).encode()),
        ("content-type", b"application/json"),
        *inject_headers(),
    ]


class Publisher:
    """Sends events to their topics, keyed for order, and waits for acks=all."""

    def __init__(self, producer: AIOKafkaProducer, settings: ServiceSettings) -> None:
        self.producer = producer
        self.settings = settings

    def topic_name(self, event: Event) -> str:
        return self.settings.topic(topic_for(event))

    async def publish(self, events: Iterable[Event], timeout_s: float | None = None) -> None:
        events = list(events)
        if not events:
            return
        timeout = timeout_s if timeout_s is not None else self.settings.publish_timeout_s
        try:
            async with asyncio.timeout(timeout):
                futures = [
                    await self.producer.send(
                        self.topic_name(e),
                        value=encode(e),
                        key=e.partition_key().encode(),
                        headers=record_headers(e),
                    )
                    for e in events
                ]
                await asyncio.gather(*futures)
        except TimeoutError as exc:
            raise PublishError(f"Kafka did not acknowledge within {timeout}s") from exc
        except Exception as exc:
            if exc.__class__.__module__.startswith("aiokafka"):
                raise PublishError(f"Kafka refused the write: {exc.__class__.__name__}") from exc
            raise


async def ensure_topics(settings: ServiceSettings, replication_factor: int = 1) -> list[str]:
    """Create every topic with its partition count; existing ones are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    created = []
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=settings.topic(t),
                num_partitions=PARTITIONS[t],
                replication_factor=replication_factor,
                topic_configs={"min.insync.replicas": "1"}
                | (
                    {"retention.ms": str(3_600_000)}
                    if t is Topic.PRESENCE
                    else {"retention.ms": "-1"}
                ),
            )
            for t in Topic
            if settings.topic(t) not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another starter won the race
                await admin.create_topics(wanted)
            created = [t.name for t in wanted]
    finally:
        await admin.close()
    return created
