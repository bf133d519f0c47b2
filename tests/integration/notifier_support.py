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

from switchboard.events import Event, Topic, decode
from switchboard.platform.settings import ServiceSettings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


# path -> (status, delay seconds)
Behaviour = Callable[[Request], tuple[int, float]]


@dataclass
class HttpReceiver:
    """Keep-alive HTTP/1.1 server on 127.0.0.1 that records every request."""

    behaviour: Behaviour = lambda _r: (200, 0.0)
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    keep: bool = True
    _server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> HttpReceiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=512)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                req = Request(method, path, headers, body, time.monotonic())
                if self.keep:
                    self.requests.append(req)
                status, delay = self.behaviour(req)
                if delay:
                    await asyncio.sleep(delay)
                payload = b'{"sid":"SM1"}' if status < 300 else b"{}"
                writer.write(
                    f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


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
