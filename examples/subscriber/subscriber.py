"""An example downstream subscriber of Switchboard's events, written with FastStream.

It reads the public conversation stream (`switchboard.public.conversations`: conversation
created, message received, routed, assigned, status changed, reply sent or failed, linked;
no patient data, ADR 0022) and, from the internal topics, inbound patient messages
(`MessageReceived`, topic `switchboard.messages`) and routing decisions (`MessageRouted`,
`switchboard.routing`), typed by the published models (`switchboard-events`), and hands each
to `handle`. Run it against `make up`:

    uv run --frozen python examples/subscriber/subscriber.py

What a real subscriber should copy (docs/subscribers.md):
- **Commit after processing.** FastStream's default for Kafka (`AckPolicy.ACK_FIRST`)
  commits the offset *before* the handler runs: a crash mid-handler loses the record. Here
  `NACK_ON_ERROR`: the offset is committed once the handler returned; if it raised, the
  record is not committed and is delivered again.
- **Read tolerantly, upcast.** Records are decoded by `switchboard.events.decode` (unknown
  fields ignored, older versions upcast), not by a strict model validation.
- **At least once.** A record may come twice (a redelivery, a replay): dedupe on `event_id`.
- The value is a CloudEvent's data: the `ce_*` headers say what it is without parsing it.

Environment: SUBSCRIBER_KAFKA (default 127.0.0.1:19092), SUBSCRIBER_TOPIC_PREFIX (the
deployment's topic prefix, default none), SUBSCRIBER_GROUP (default example-subscriber).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.specification import AsyncAPI

from switchboard.events import Event, MessageReceived, MessageRouted, decode
from switchboard.events.public import PublicConversationEvent

Handler = Callable[[Event], Awaitable[None]]


async def decode_event(message: KafkaMessage) -> Any:
    """The record's value as the newest version of its event (tolerant, upcast)."""
    return decode(message.body)


def build(
    handle: Handler,
    bootstrap: str = "127.0.0.1:19092",
    topic_prefix: str = "",
    group: str = "example-subscriber",
) -> tuple[KafkaBroker, FastStream]:
    broker = KafkaBroker(bootstrap, client_id=group)
    # One consumer group, from the start of the log on its first run (then where it left).
    options: dict[str, Any] = {
        "group_id": group,
        "auto_offset_reset": "earliest",
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "decoder": decode_event,
    }

    @broker.subscriber(
        f"{topic_prefix}switchboard.messages",
        title="MessageReceived",
        description="Inbound patient messages (patient data).",
        **options,
    )
    async def on_message(event: MessageReceived) -> None:
        await handle(event)

    @broker.subscriber(
        f"{topic_prefix}switchboard.routing",
        title="MessageRouted",
        description="Routing decisions.",
        **options,
    )
    async def on_routed(event: MessageRouted) -> None:
        await handle(event)

    @broker.subscriber(
        f"{topic_prefix}switchboard.public.conversations",
        title="PublicConversationEvents",
        description="The public conversation stream (ids, codes, labels, times).",
        **options,
    )
    async def on_public(event: PublicConversationEvent) -> None:
        await handle(event)

    return broker, FastStream(broker)


def specification(broker: KafkaBroker) -> dict[str, Any]:
    """The AsyncAPI 3.0 document FastStream generates for this subscriber."""
    document: dict[str, Any] = (
        AsyncAPI(broker, title="Example Switchboard subscriber", schema_version="3.0.0")
        .to_specification()
        .to_jsonable()
    )
    return document


async def _print(event: Event) -> None:
    # Ids only: the event itself may hold patient data, which does not belong in a log.
    print(event.event_type, event.event_id, getattr(event, "conversation_id", ""), flush=True)


if __name__ == "__main__":
    _, app = build(
        _print,
        os.environ.get("SUBSCRIBER_KAFKA", "127.0.0.1:19092"),
        os.environ.get("SUBSCRIBER_TOPIC_PREFIX", ""),
        os.environ.get("SUBSCRIBER_GROUP", "example-subscriber"),
    )
    asyncio.run(app.run())
