"""Inbound messages onto the log: each MessageReceived published with Kafka's acks=all, or,
when its look-ups wait for the database, as a MessageDeferred carrying it (ADR 0008). The
caller answers the provider only after this returned. Metrics and the accepted log line
(ids and counts, never patient data) are here too."""

from __future__ import annotations

import time
from collections.abc import Sequence

from prometheus_client import Counter, Histogram

from switchboard.events import Event, MessageDeferred, MessageReceived, deterministic_id
from switchboard.ingest.domain.errors import Unavailable
from switchboard.platform.kafka import Publisher, PublishError
from switchboard.platform.logging import get_logger
from switchboard.platform.telemetry import current_traceparent

log = get_logger(__name__)

ACCEPTED = Counter("switchboard_ingest_messages_total", "Inbound messages accepted", ["channel"])
REJECTED = Counter("switchboard_ingest_rejected_total", "Inbound messages refused", ["why"])
ACK_SECONDS = Histogram(
    "switchboard_ingest_publish_seconds",
    "Time from receipt to Kafka's acks=all",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
DEFERRED = Counter(
    "switchboard_ingest_deferred_total",
    "Inbound messages accepted with their look-ups deferred (database away)",
    ["channel"],
)


async def publish_messages(
    publisher: Publisher,
    events: Sequence[MessageReceived],
    started: float,
    deferred: Sequence[bool] = (),
) -> None:
    """Publish (acks=all) each event, or, where `deferred` says so, a MessageDeferred
    carrying it: its look-ups are done after the log (ADR 0008). Unavailable when Kafka did
    not acknowledge."""
    trace = current_traceparent()
    events = [e.model_copy(update={"traceparent": trace}) for e in events]
    records: list[Event] = [
        deferred_message(e) if i < len(deferred) and deferred[i] else e
        for i, e in enumerate(events)
    ]
    try:
        await publisher.publish(records)
    except PublishError as exc:
        REJECTED.labels("kafka_unavailable").inc()
        log.error("publish_failed", error=str(exc), count=len(events))
        raise Unavailable("message store unavailable, retry later") from None
    for e, r in zip(events, records, strict=True):
        if r is not e:
            DEFERRED.labels(e.channel).inc()
        ACCEPTED.labels(e.channel).inc()
        ACK_SECONDS.labels(e.channel).observe(time.perf_counter() - started)
        log.info(
            "message_accepted",
            practice_id=e.practice_id,
            channel=e.channel,
            event_id=str(e.event_id),
            attachments=len(e.attachments),
            deferred=r is not e,
        )


def deferred_message(message: MessageReceived) -> MessageDeferred:
    deferred: MessageDeferred = MessageDeferred.derive(
        message,
        event_id=deterministic_id(message.event_id, "deferred"),
        occurred_at=message.occurred_at,
        message=message,
    )
    return deferred
