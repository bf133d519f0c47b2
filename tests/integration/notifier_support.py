"""Helpers for the notifier's integration tests and benchmark: a small HTTP/1.1 receiver
(webhooks, the SMS provider), an SMTP server (aiosmtpd), and a Kafka topic reader."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer
from http_standin import Call, StandIn

from switchboard.events import Event, Topic, decode
from switchboard.platform.settings import ServiceSettings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Request = Call
# request -> (status, delay seconds)
Behaviour = Callable[[Request], tuple[int, float]]


@dataclass
class HttpReceiver(StandIn):
    """Records every request (unless `keep` is off) and answers as `behaviour` says."""

    behaviour: Behaviour = lambda _r: (200, 0.0)
    requests: list[Request] = field(default_factory=list)
    keep: bool = True

    async def answer(self, call: Call) -> tuple[int, bytes]:
        if self.keep:
            self.requests.append(call)
        status, delay = self.behaviour(call)
        if delay:
            await asyncio.sleep(delay)
        return status, b'{"sid":"SM1"}' if status < 300 else b"{}"


class SmtpSink:
    """A real SMTP server (aiosmtpd) in its own thread, keeping every message."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.messages.append(envelope)
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class TopicReader:
    """Reads a topic from the beginning in the background, decoding every event."""

    def __init__(self, settings: ServiceSettings, topic: Topic) -> None:
        self.settings = settings
        self.topic = settings.topic(topic)
        self.events: list[Event] = []
        self.records = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> TopicReader:
        self.consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.settings.kafka_bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
            fetch_max_wait_ms=50,
        )
        await self.consumer.start()
        self._task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=100, max_records=5000)
            for records in batches.values():
                for r in records:
                    self.records += 1
                    self.events.append(decode(r.value))

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        await self.consumer.stop()

    def of(self, event_type: str, **match: Any) -> list[Any]:
        return [
            e
            for e in self.events
            if e.event_type == event_type and all(getattr(e, k) == v for k, v in match.items())
        ]


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], within: float = 20.0, every: float = 0.05
) -> None:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(every)
