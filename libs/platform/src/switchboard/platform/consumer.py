"""The one consumer policy of every service.

- Offsets are committed only after the batch's database transaction committed (one
  transaction and one offset commit per poll, across partitions).
- Each event id is recorded as processed in that same transaction, so a redelivery is a no-op.
- Events a handler emits are published (acks=all) before that commit; their ids are
  deterministic, so a crash between publish and commit re-publishes duplicates that
  consumers downstream drop.
- A batch is tried whole first (fast path). If it fails, its records are retried one by one
  with backoff; a record that still fails after `consumer_max_attempts` goes to the
  dead-letter topic with the error, and the partition moves on.
- Infrastructure errors (database or Kafka unreachable) are not the record's fault: the
  batch is retried with backoff until they pass, and /readyz says not ready meanwhile.
- Each consumer group also reads its own replay topic (`switchboard.replay.<name>`, ADR
  0007), where `switchboard-dlq` re-drives its dead letters after a fix. An event recorded
  as dead-lettered is applied when it comes back that way, once: it is then "replayed".

Its size: the policy above is one loop (batch, retry one by one, dead-letter, replay);
kept whole so it can be read and checked in one place.
"""

from __future__ import annotations

import asyncio
import heapq
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord
from opentelemetry import context as otel_context
from opentelemetry import trace
from prometheus_client import Counter, Histogram
from pydantic import ValidationError
from sqlalchemy import Table
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.events import Event, Topic, UnknownEventError, decode_record
from switchboard.events.topics import REPLAY_TOPICS
from switchboard.platform.db import DEAD_LETTERED, mark_processed, processed_outcomes
from switchboard.platform.kafka import Publisher, PublishError, connection, pace_fetches
from switchboard.platform.logging import get_logger, safe_frames, safe_reason
from switchboard.platform.metrics import CONSUMER_LAG, CONSUMER_LAST_POLL, logical_topic
from switchboard.platform.readiness import Backoff
from switchboard.platform.settings import ServiceSettings
from switchboard.platform.telemetry import extract_context, tracer

log = get_logger(__name__)

EVENTS = Counter("switchboard_consumer_events_total", "Events handled", ["consumer", "outcome"])
BATCH_SECONDS = Histogram(
    "switchboard_consumer_batch_seconds", "Time to apply and commit one batch", ["consumer"]
)

# A batch handler applies `events` in `session` (one open transaction) and returns the
# events to publish. It must not commit; the runner does.
BatchHandler = Callable[[AsyncSession, Sequence[Event]], Awaitable[Sequence[Event]]]


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError | InterfaceError | PublishError | TimeoutError | OSError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False))


@dataclass(frozen=True)
class Decoded:
    record: ConsumerRecord
    event: Event


class _Listener(ConsumerRebalanceListener):
    """Batches are committed before the next poll, so nothing is in flight at a rebalance;
    the listener only records the assignment (a commit during a rebalance would fail)."""

    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        log.info("partitions_revoked", consumer=self.runner.name, count=len(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("partitions_assigned", consumer=self.runner.name, count=len(assigned))


class ConsumerRunner:
    def __init__(
        self,
        *,
        name: str,
        topics: Sequence[Topic],
        handler: BatchHandler,
        settings: ServiceSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        processed: Table,
        publisher: Publisher,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        replay_topic: Topic | None = None,
    ) -> None:
        self.name = name
        # A declared consumer group reads its replay topic too; a group without one (a
        # test's, a rebuild's) only its own topics.
        replay = replay_topic or REPLAY_TOPICS.get(name)
        self.replay_topic = settings.topic(replay) if replay else None
        self.topics = [settings.topic(t) for t in topics]
        if self.replay_topic and self.replay_topic not in self.topics:
            self.topics.append(self.replay_topic)
        self.handler = handler
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.processed = processed
        self.publisher = publisher
        # Backoff between retries; readiness wakes it to retry at once (readiness.py).
        self._backoff = Backoff()
        self.sleep = sleep or self._backoff.sleep
        self.consumer: AIOKafkaConsumer | None = None
        self.ready = False
        self.last_error: str | None = None
        self._stopping = asyncio.Event()
        self._tracer = tracer(f"switchboard.consumer.{name}")
        self._lag_reported_at = 0.0
        # Liveness: when the loop last showed progress (a poll, or a retry while the
        # infrastructure is away) and whether it held partitions then.
        self.last_beat = time.monotonic()
        self.assigned = False
        # Called after each batch whose events changed the database committed: the outbox
        # loops of the same process sleep long and are woken by these (Runtime.on_commit).
        self.after_commit: list[Callable[[], None]] = []

    def make_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            **connection(self.settings),
            group_id=self.settings.group_id(self.name),
            client_id=f"{self.settings.service_name}-{self.name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.settings.consumer_batch_max,
            isolation_level="read_committed",
            # The broker answers a fetch as soon as data arrives; this bounds the idle wait
            # between fetch rounds (aiokafka's default 500 ms showed as end-to-end latency).
            fetch_max_wait_ms=self.settings.consumer_fetch_max_wait_ms,
            fetch_min_bytes=self.settings.consumer_fetch_min_bytes,
        )

    async def run(self) -> None:
        self.consumer = self.make_consumer()
        await self.consumer.start()
        self.consumer.subscribe(self.topics, listener=_Listener(self))
        try:
            while not self._stopping.is_set():
                batches = await self.consumer.getmany(
                    timeout_ms=self.settings.consumer_poll_timeout_ms,
                    max_records=self.settings.consumer_batch_max,
                )
                self.assigned = bool(self.consumer.assignment())
                self.beat()
                self.ready = True
                CONSUMER_LAST_POLL.labels(self.name).set(time.time())
                busy = any(batches.values())
                pace_fetches(self.consumer, self.settings, busy=busy)
                if busy:
                    await self.process_batch(batches)
                await self._report_lag()
        finally:
            await self.consumer.stop()

    def stop(self) -> None:
        self._stopping.set()

    def wake(self) -> None:
        """Retry a failing batch now (its dependency may be back) instead of after the
        backoff."""
        self._backoff.wake()

    async def _report_lag(self) -> None:
        """Lag per partition from the consumer's own position and the end offset the last
        fetch saw (no extra request); at most once a second."""
        now = time.monotonic()
        if self.consumer is None or now - self._lag_reported_at < 1.0:
            return
        self._lag_reported_at = now
        prefix = self.settings.topic_prefix
        for tp in self.consumer.assignment():
            end = self.consumer.highwater(tp)
            if end is None:
                continue
            position = await self.consumer.position(tp)
            CONSUMER_LAG.labels(self.name, logical_topic(tp.topic, prefix), str(tp.partition)).set(
                max(0, end - position)
            )

    def beat(self) -> None:
        self.last_beat = time.monotonic()

    def stalled(self, now: float) -> bool:
        """Stuck: it holds partitions but has not polled (nor retried) for
        `consumer_stall_s` — a handler that never returns. Restarting the process is the
        cure, so /healthz fails. Without partitions there is nothing to be stuck on."""
        return self.assigned and now - self.last_beat > self.settings.consumer_stall_s

    async def process_batch(self, batches: dict[TopicPartition, Sequence[ConsumerRecord]]) -> None:
        """All records of one poll, every partition, in one transaction: per-partition order is
        kept (the handler sees each partition's records in offset order)."""
        started = time.perf_counter()
        decoded: list[Decoded] = []
        # Partitions are interleaved by record time (each keeps its offset order), so a
        # replay applies events from several topics in about the order they were written.
        for record in heapq.merge(*batches.values(), key=lambda r: r.timestamp):
            try:
                decoded.append(Decoded(record, decode_record(record.value, record.headers)))
            except (UnknownEventError, ValidationError) as exc:
                await self.dead_letter(record, exc, attempts=0)
        await self._apply_with_policy(decoded)
        await self.commit({tp: rs[-1].offset + 1 for tp, rs in batches.items() if rs})
        BATCH_SECONDS.labels(self.name).observe(time.perf_counter() - started)

    async def _apply_with_policy(self, decoded: list[Decoded]) -> None:
        if not decoded:
            return
        delay = self.settings.consumer_backoff_initial_s
        while True:
            try:
                await self.apply(decoded)
                self.ready = True
                return
            except Exception as exc:
                if is_transient(exc):
                    self._note_transient(exc)
                    await self.sleep(delay)
                    delay = min(delay * 2, self.settings.consumer_backoff_max_s)
                    continue
                if len(decoded) == 1:
                    break
                log.warning(
                    "batch_failed_retrying_singly",
                    consumer=self.name,
                    size=len(decoded),
                    error=type(exc).__name__,
                )
                break
        for item in decoded:
            await self._apply_one(item)

    async def _apply_one(self, item: Decoded) -> None:
        delay = self.settings.consumer_backoff_initial_s
        attempts = 0
        while True:
            try:
                await self.apply([item])
                self.ready = True
                return
            except Exception as exc:
                if is_transient(exc):
                    self._note_transient(exc)
                    await self.sleep(delay)
                    delay = min(delay * 2, self.settings.consumer_backoff_max_s)
                    continue
                attempts += 1
                EVENTS.labels(self.name, "retried").inc()
                if attempts >= self.settings.consumer_max_attempts:
                    await self.dead_letter(item.record, exc, attempts, item.event)
                    return
                log.warning(
                    "event_failed_will_retry",
                    consumer=self.name,
                    group=self.settings.group_id(self.name),
                    topic=item.record.topic,
                    partition=item.record.partition,
                    offset=item.record.offset,
                    event_id=str(item.event.event_id),
                    event_type=item.event.event_type,
                    attempt=attempts,
                    error=type(exc).__name__,
                )
                await self.sleep(delay)
                delay = min(delay * 2, self.settings.consumer_backoff_max_s)

    def _receive_span(self, item: Decoded) -> trace.Span:
        record = item.record
        return self._tracer.start_span(
            f"{self.name} apply {item.event.event_type}",
            context=extract_context(record.headers, item.event.traceparent),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.consumer.group.name": self.settings.group_id(self.name),
                "messaging.destination.name": record.topic,
                "messaging.destination.partition.id": str(record.partition),
                "messaging.kafka.offset": record.offset,
                "messaging.message.id": str(item.event.event_id),
            },
        )

    def _note_transient(self, exc: BaseException) -> None:
        # Waiting for the database or Kafka is not being stuck: readiness reports it, and a
        # restart would not bring them back.
        self.beat()
        self.ready = False
        self.last_error = type(exc).__name__
        log.warning(
            "infrastructure_unavailable_retrying", consumer=self.name, error=type(exc).__name__
        )

    async def apply(self, decoded: Sequence[Decoded]) -> None:
        """Apply a batch in one transaction: skip seen ids, handle, publish, record, commit."""
        self.beat()  # each attempt is progress; a handler that never returns is not
        unique: dict[uuid.UUID, Decoded] = {}
        for d in decoded:
            # the replayed copy of an event wins over its original in the same batch
            if d.event.event_id not in unique or self.is_replay(d.record):
                unique[d.event.event_id] = d
        # One span per record in the trace of the message it carries, and one span for the
        # batch that links to them all (a batch serves many traces: links, not parents).
        received = {k: self._receive_span(d) for k, d in unique.items()}
        links = [trace.Link(s.get_span_context()) for s in received.values()]
        try:
            with self._tracer.start_as_current_span(
                f"{self.name} process",
                context=otel_context.Context(),
                links=links,
                attributes={"switchboard.batch_size": len(decoded)},
            ):
                async with self.sessionmaker() as session, session.begin():
                    outcomes = await processed_outcomes(
                        session, self.processed, self.name, unique.keys()
                    )
                    fresh = [
                        d.event
                        for k, d in unique.items()
                        if k not in outcomes
                        or (outcomes[k] == DEAD_LETTERED and self.is_replay(d.record))
                    ]
                    if fresh:
                        outgoing = await self.handler(session, fresh)
                        await self.publisher.publish(
                            outgoing,
                            parents={k: trace.set_span_in_context(s) for k, s in received.items()},
                        )
                        fresh_ids = {e.event_id for e in fresh}
                        replayed = {k for k in outcomes if k in fresh_ids}
                        await mark_processed(
                            session,
                            self.processed,
                            self.name,
                            [e.event_id for e in fresh if e.event_id not in replayed],
                        )
                        await mark_processed(
                            session, self.processed, self.name, replayed, "replayed"
                        )
        finally:
            for span in received.values():
                span.end()
        if fresh:
            for wake in self.after_commit:
                wake()
        EVENTS.labels(self.name, "applied").inc(len(fresh))
        EVENTS.labels(self.name, "duplicate").inc(len(decoded) - len(fresh))

    async def dead_letter(
        self,
        record: ConsumerRecord,
        exc: BaseException,
        attempts: int,
        event: Event | None = None,
    ) -> None:
        """Send the original record, untouched, with the error in headers; then record it so
        a redelivery does not dead-letter it twice."""
        # Headers are read by people and tools that must not see patient data: the error's
        # type, a safe reason and the frames (file:line:function), never a message.
        error = f"{type(exc).__name__}: {safe_reason(exc)}"
        headers = [
            *[(k, v) for k, v in (record.headers or ()) if not k.startswith("dlq.")],
            ("dlq.consumer", self.name.encode()),
            ("dlq.error", error.encode()[:2000]),
            ("dlq.source", f"{record.topic}/{record.partition}/{record.offset}".encode()),
            ("dlq.attempts", str(attempts).encode()),
            ("dlq.failed_at", datetime.now(UTC).isoformat().encode()),
            ("dlq.trace", "\n".join(safe_frames(exc.__traceback__))[-1000:].encode()),
        ]
        delay = self.settings.consumer_backoff_initial_s
        while True:
            try:
                await asyncio.wait_for(
                    self.publisher.producer.send_and_wait(
                        self.settings.topic(Topic.DEAD_LETTER),
                        value=record.value,
                        key=record.key,
                        headers=headers,
                    ),
                    timeout=self.settings.publish_timeout_s,
                )
                if event is not None:
                    async with self.sessionmaker() as session, session.begin():
                        await mark_processed(
                            session, self.processed, self.name, [event.event_id], DEAD_LETTERED
                        )
                break
            except Exception as send_exc:
                if not is_transient(send_exc):
                    raise
                self._note_transient(send_exc)
                await self.sleep(delay)
                delay = min(delay * 2, self.settings.consumer_backoff_max_s)
        EVENTS.labels(self.name, "dead_lettered").inc()
        log.error(
            "event_dead_lettered",
            consumer=self.name,
            group=self.settings.group_id(self.name),
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            event_id=str(event.event_id) if event else None,
            error=type(exc).__name__,
            attempts=attempts,
        )

    def is_replay(self, record: ConsumerRecord) -> bool:
        return self.replay_topic is not None and record.topic == self.replay_topic

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        assert self.consumer is not None
        try:
            await self.consumer.commit(offsets)
        except CommitFailedError:
            # The partitions moved to another member; it redelivers from the last committed
            # offsets and the processed-event record makes that a no-op.
            log.warning("commit_failed_rebalance", consumer=self.name, partitions=len(offsets))
