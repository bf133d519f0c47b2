"""Durable Kafka producing: acks=all, idempotence, trace and CloudEvents headers, bounded
waits."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context
from opentelemetry import trace
from opentelemetry.context import Context

from switchboard.events import Event, encode, topic_for
from switchboard.events.cloud_events import kafka_headers
from switchboard.events.topics import TOPIC_SPECS
from switchboard.platform.logging import get_logger
from switchboard.platform.metrics import PRODUCER_RESETS, PUBLISH_SECONDS, PUBLISHED
from switchboard.platform.settings import ServiceSettings
from switchboard.platform.telemetry import extract_context, inject_headers, tracer

_TRACER = tracer("switchboard.kafka")

log = get_logger(__name__)


class PublishError(RuntimeError):
    """Kafka did not acknowledge in time; the caller must not report success."""


def connection(settings: ServiceSettings) -> dict[str, Any]:
    """Where and how every Kafka client (producer, consumers, admin) connects."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(cafile=settings.kafka_ssl_cafile)
    if settings.kafka_security_protocol.startswith("SASL_"):
        password = settings.kafka_sasl_password
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": password.get_secret_value() if password else None,
        }
    return options


async def topic_partitions(settings: ServiceSettings, topics: list[str]) -> list[TopicPartition]:
    """The partitions of `topics`, in order; none for a topic that does not exist. Asked of
    the broker, for readers that assign partitions themselves instead of joining a group."""
    admin = AIOKafkaAdminClient(**connection(settings))
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return sorted(
        TopicPartition(t["topic"], p["partition"])
        for t in described
        if t.get("error_code") == 0
        for p in t["partitions"]
    )


def pace_fetches(consumer: AIOKafkaConsumer, settings: ServiceSettings, *, busy: bool) -> None:
    """The broker's longest hold of the consumer's next fetch, set after each poll: short
    while records flow (aiokafka sends no fetch for a partition whose records are still
    buffered, so that partition's next fetch must not wait behind a long hold), long when
    the poll was empty (the broker answers a held fetch as soon as a record arrives, so no
    latency is added, and an idle consumer costs a few round trips a second, not twenty).
    aiokafka reads the value each time it builds a fetch request."""
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is None or not hasattr(fetcher, "_fetch_max_wait_ms"):
        return
    wait = settings.consumer_fetch_max_wait_ms
    if not busy:
        wait = max(wait, settings.consumer_idle_fetch_max_wait_ms)
    fetcher._fetch_max_wait_ms = wait


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    # aiokafka defaults to acks=1 without idempotence: a leader failover could lose or
    # duplicate records. Both are set explicitly here, for every service.
    return AIOKafkaProducer(
        **connection(settings),
        client_id=settings.service_name,
        acks="all",
        enable_idempotence=True,
        linger_ms=settings.producer_linger_ms,
        request_timeout_ms=int(settings.publish_timeout_s * 1000) + 1000,
        retry_backoff_ms=100,
    )


def record_headers(
    event: Event, ctx: Context | None = None, service: str = "switchboard"
) -> list[tuple[str, bytes]]:
    """The envelope's ids (the consumers and the dead-letter tool read them), the CloudEvents
    binary-mode attributes (`ce_*`, content-type: for subscribers) and the trace context."""
    return [
        ("event_type", event.event_type.encode()),
        ("version", str(event.version).encode()),
        ("event_id", str(event.event_id).encode()),
        *kafka_headers(event, service),
        *inject_headers(ctx),
    ]


def _parent(event: Event, parents: Mapping[uuid.UUID, Context] | None) -> Context | None:
    """The trace an outgoing event continues: its cause's span when a consumer gave one, else
    the current span, else the trace its envelope carries (an outbox loop has no span)."""
    cause = event.causation_id
    if parents and cause is not None and cause in parents:
        return parents[cause]
    if trace.get_current_span().get_span_context().is_valid:
        return None
    return extract_context(None, event.traceparent) if event.traceparent else None


class Publisher:
    """Sends events to their topics, keyed for order, and waits for acks=all."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        settings: ServiceSettings,
        connected: bool = True,
        factory: Callable[[ServiceSettings], AIOKafkaProducer] = make_producer,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.producer = producer
        self.settings = settings
        # False until the producer reached a broker: writes fail at once (PublishError).
        self.connected = connected
        self.factory = factory
        self.clock = clock
        self.failing_since: float | None = None  # first failure of the current streak
        self.resets = 0
        self._reconnecting: asyncio.Task[None] | None = None

    async def connect(self) -> bool:
        """Start the producer once; False (and a fresh producer for the next try) when no
        broker answers."""
        if self.connected:
            return True
        try:
            await self.producer.start()
        except Exception as exc:
            if not exc.__class__.__module__.startswith("aiokafka"):
                raise
            log.warning("kafka_unreachable", error=exc.__class__.__name__)
            with contextlib.suppress(Exception):
                await self.producer.stop()
            self.producer = self.factory(self.settings)
            return False
        self.connected = True
        return True

    async def connect_until_done(self, max_delay_s: float = 10.0) -> None:
        delay = 0.5
        while not await self.connect():
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay_s)
        log.info("kafka_connected")

    async def close(self) -> None:
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        await self.producer.stop()

    def _failed(self) -> None:
        """Count a failed write; a streak longer than producer_reset_after_s replaces the
        producer (the writes not acknowledged were reported failed: callers retry them)."""
        now = self.clock()
        if self.failing_since is None:
            self.failing_since = now
            return
        if now - self.failing_since < self.settings.producer_reset_after_s:
            return
        old, self.producer = self.producer, self.factory(self.settings)
        self.connected = False
        self.failing_since = None
        self.resets += 1
        PRODUCER_RESETS.inc()
        log.warning("kafka_producer_reset", after_s=self.settings.producer_reset_after_s)
        asyncio.get_running_loop().create_task(_stop_quietly(old))
        self._reconnecting = asyncio.get_running_loop().create_task(self.connect_until_done())

    def topic_name(self, event: Event) -> str:
        return self.settings.topic(topic_for(event))

    async def publish(
        self,
        events: Iterable[Event],
        timeout_s: float | None = None,
        parents: Mapping[uuid.UUID, Context] | None = None,
    ) -> None:
        """Send and wait for acks=all. `parents` maps a cause's event id to its span, so each
        event continues the trace of the message that caused it (a batch holds many)."""
        events = list(events)
        if not events:
            return
        if not self.connected:
            raise PublishError("Kafka unreachable")
        timeout = timeout_s if timeout_s is not None else self.settings.publish_timeout_s
        spans: list[trace.Span] = []
        started = time.perf_counter()
        outcome = "failed"
        try:
            async with asyncio.timeout(timeout):
                futures = []
                for e in events:
                    topic = self.topic_name(e)
                    # The key is never an attribute: it holds the sender's address.
                    span = _TRACER.start_span(
                        f"publish {topic_for(e)}",
                        context=_parent(e, parents),
                        kind=trace.SpanKind.PRODUCER,
                        attributes={
                            "messaging.system": "kafka",
                            "messaging.destination.name": topic,
                            "messaging.operation.type": "publish",
                            "switchboard.event_type": e.event_type,
                            "messaging.message.id": str(e.event_id),
                        },
                    )
                    spans.append(span)
                    futures.append(
                        await self.producer.send(
                            topic,
                            value=encode(e),
                            key=e.partition_key().encode(),
                            headers=record_headers(
                                e,
                                trace.set_span_in_context(span),
                                self.settings.service_name,
                            ),
                        )
                    )
                await asyncio.gather(*futures)
            outcome = "acked"
            self.failing_since = None
        except TimeoutError as exc:
            self._failed()
            raise PublishError(f"Kafka did not acknowledge within {timeout}s") from exc
        except Exception as exc:
            if exc.__class__.__module__.startswith("aiokafka"):
                self._failed()
                raise PublishError(f"Kafka refused the write: {exc.__class__.__name__}") from exc
            raise
        finally:
            for span in spans:  # each span lasts until Kafka acknowledged (or gave up)
                span.end()
            elapsed = time.perf_counter() - started
            for topic, count in Counter(str(topic_for(e)) for e in events).items():
                PUBLISH_SECONDS.labels(topic).observe(elapsed)
                PUBLISHED.labels(topic, outcome).inc(count)


async def _stop_quietly(producer: AIOKafkaProducer) -> None:
    # Its unsent batches fail (their writers were told already); stop may wait on a wedged
    # broker connection, so it is bounded and its errors ignored.
    with contextlib.suppress(Exception):
        async with asyncio.timeout(10):
            await producer.stop()


async def _until_led(admin: AIOKafkaAdminClient, names: list[str], limit_s: float = 10.0) -> None:
    """Wait until every partition of the topics just created has a leader. A consumer that
    subscribes before that is given no partitions and looks again only at its next metadata
    refresh, minutes later (seen in CI: an integration test's consumers idle for 30 s)."""
    deadline = time.monotonic() + limit_s
    while names:
        described = await admin.describe_topics(names)
        if len(described) == len(names) and all(
            not t.get("error_code")
            and t.get("partitions")
            and all(p.get("leader", -1) >= 0 for p in t["partitions"])
            for t in described
        ):
            return
        if time.monotonic() > deadline:
            log.warning("topics_without_leaders", count=len(names))
            return  # go on: the consumers find them at their next refresh
        await asyncio.sleep(0.1)


async def ensure_topics(
    settings: ServiceSettings, replication_factor: int | None = None
) -> list[str]:
    """Create missing topics with their partitions and configs (TOPIC_SPECS), and bring the
    configs of existing ones in line; returns the names created. Partition counts and the
    replication factor of an existing topic are left as they are (changing them moves data:
    an operator's decision)."""
    rf = replication_factor if replication_factor is not None else settings.kafka_replication_factor
    admin = AIOKafkaAdminClient(**connection(settings))
    await admin.start()
    created: list[str] = []
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=settings.topic(t),
                num_partitions=spec.partitions,
                replication_factor=rf,
                topic_configs=spec.configs(rf),
            )
            for t, spec in TOPIC_SPECS.items()
            if settings.topic(t) not in existing
        ]
        if wanted:
            response = await admin.create_topics(wanted)
            for name, code, message in _errors(response.topic_errors):
                if code == TopicAlreadyExistsError.errno:  # another starter won the race,
                    existing.add(name)  # or the metadata we listed was not yet up to date
                elif code:
                    raise RuntimeError(f"creating topic {name} failed: {code} {message}")
                else:
                    created.append(name)
            await _until_led(admin, created)
        specs = {settings.topic(t): s for t, s in TOPIC_SPECS.items()}
        present = [n for n in specs if n in existing]
        # min.insync.replicas follows each topic's actual replica count: 2 on a topic with
        # a single replica would refuse every acks=all write.
        replicas = await _replica_counts(admin, present) if present else {}
        await _align_configs(admin, {n: specs[n].configs(replicas.get(n, rf)) for n in present})
    finally:
        await admin.close()
    return created


async def _replica_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    described = await admin.describe_topics(names)
    return {
        t["topic"]: len(t["partitions"][0]["replicas"])
        for t in described
        if t.get("error_code") == 0 and t["partitions"]
    }


async def _align_configs(admin: AIOKafkaAdminClient, wanted: dict[str, dict[str, str]]) -> None:
    """Alter the topics whose configs differ from `wanted` (a no-op when all match)."""
    if not wanted:
        return
    described = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name, None) for name in wanted]
    )
    current: dict[str, dict[str, str]] = {}
    for response in described:
        for _err, _msg, _type, name, entries in response.resources:
            current[name] = {e[0]: e[1] for e in entries}
    stale = [
        name
        for name, configs in wanted.items()
        if any(current.get(name, {}).get(k) != v for k, v in configs.items())
    ]
    if stale:
        # AlterConfigs replaces a topic's whole override set; ours is the whole set.
        altered = await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n, wanted[n]) for n in stale]
        )
        for response in altered:
            for code, message, _type, name in response.resources:
                if code:
                    raise RuntimeError(f"altering topic {name} failed: {code} {message}")


def _errors(rows: Iterable[Any]) -> Iterator[tuple[str, int, str | None]]:
    """(name, error code, message) of a CreateTopics answer, whatever its version."""
    for row in rows:
        yield row[0], row[1], (row[2] if len(row) > 2 else None)
