"""SIGTERM is a graceful stop (issue 21), shown on real processes against the real Kafka and
PostgreSQL:

- ingest, with a webhook request half sent: the listener closes (new connections are
  refused), the request in flight is answered 200, its message is in Kafka exactly once,
  and the process exits 0 (it used to die of the re-raised signal, exit -15);
- the router, mid-stream: stopped while it consumes a backlog, it exits 0 after committing
  what it applied; started again it routes the rest, and every message has exactly one
  decision in the log (nothing lost, nothing applied twice).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from aiokafka import AIOKafkaConsumer
from router_process import message
from service_process import ServiceProcess, migrate

from switchboard.events import Event, MessageReceived, MessageRouted, Topic, decode
from switchboard.ingest.adapters.twilio import signature
from switchboard.platform.internal_api import dev_credentials
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer
from switchboard.platform.settings import ServiceSettings

pytestmark = pytest.mark.integration

KAFKA = os.environ.get("SWITCHBOARD_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
TWILIO_TOKEN = "graceful-twilio-token"
LINE = "+12125550000"


@pytest.fixture
def system(own_db: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A topic prefix of the test's own on the module's database."""
    prefix = f"grace{uuid.uuid4().hex[:6]}."
    asyncio.run(ensure_topics(ServiceSettings(kafka_bootstrap=KAFKA, topic_prefix=prefix)))
    yield {
        **os.environ,
        "SWITCHBOARD_ENV": "dev",
        "SWITCHBOARD_KAFKA_BOOTSTRAP": KAFKA,
        "SWITCHBOARD_DATABASE_URL": own_db,
        "SWITCHBOARD_TOPIC_PREFIX": prefix,
        "SWITCHBOARD_LOG_LEVEL": "INFO",
        "SWITCHBOARD_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "SWITCHBOARD_ATTACHMENT_DIR": str(tmp_path / "attachments"),
    }


def read_topic(
    prefix: str, topic: Topic, until: int, timeout_s: float = 60, linger_s: float = 2
) -> list[Event]:
    """Every record of the topic from the start, once at least `until` were read (or the
    timeout passed), and what comes in `linger_s` more: a duplicate would be there too."""

    async def read() -> list[Event]:
        consumer = AIOKafkaConsumer(
            f"{prefix}{topic}",
            bootstrap_servers=KAFKA,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        await consumer.start()
        events: list[Event] = []
        try:
            deadline = time.monotonic() + timeout_s
            quiet_until: float | None = None
            while time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=300)
                events += [decode(r.value) for rs in batches.values() for r in rs]
                if len(events) >= until and quiet_until is None:
                    quiet_until = time.monotonic() + linger_s
                if quiet_until is not None and time.monotonic() >= quiet_until:
                    break
        finally:
            await consumer.stop()
        return events

    return asyncio.run(read())


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True


def test_sigterm_answers_the_request_in_flight_then_exits_0(
    system: dict[str, str], tmp_path: Path
) -> None:
    migrate("ingest", system)
    ingest = ServiceProcess("ingest", system | dev_credentials()["ingest"], tmp_path / "i.log")
    ingest.start()
    try:
        ingest.wait_ready()
        path = "/webhooks/twilio/sms/demo"
        sid = f"SMgrace{uuid.uuid4().hex[:10]}"
        params = {"MessageSid": sid, "From": "+16465550123", "To": LINE, "Body": "refill"}
        params |= {"NumMedia": "0"}
        body = urlencode(params).encode()
        sig = signature(TWILIO_TOKEN, f"http://127.0.0.1:{ingest.port}{path}", params)
        head = (
            f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{ingest.port}\r\n"
            "content-type: application/x-www-form-urlencoded\r\n"
            f"x-twilio-signature: {sig}\r\ncontent-length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", ingest.port), timeout=30) as conn:
            conn.sendall(head + body[:10])  # the request is in flight: its body half sent
            time.sleep(0.5)
            assert ingest.proc is not None
            ingest.proc.terminate()  # SIGTERM
            deadline = time.monotonic() + 30
            while not refused(ingest.port):  # no new connection is accepted
                assert time.monotonic() < deadline, "the listener stayed open after SIGTERM"
                time.sleep(0.05)
            conn.sendall(body[10:])
            answer = conn.recv(4096).decode(errors="replace")
        assert answer.startswith("HTTP/1.1 200"), answer
        assert ingest.proc.wait(timeout=60) == 0, ingest.tail()
    finally:
        ingest.kill()
    received = read_topic(system["SWITCHBOARD_TOPIC_PREFIX"], Topic.MESSAGES, until=1)
    mine = [e for e in received if isinstance(e, MessageReceived) and e.provider_message_id == sid]
    assert len(mine) == 1


def test_sigterm_mid_stream_commits_what_it_applied_and_loses_nothing(
    system: dict[str, str], tmp_path: Path
) -> None:
    prefix = system["SWITCHBOARD_TOPIC_PREFIX"]
    count = 2000
    messages = [message(f"grace-{i}", f"pat-{i}@example.org") for i in range(count)]

    async def publish() -> None:
        settings = ServiceSettings(kafka_bootstrap=KAFKA, topic_prefix=prefix)
        publisher = Publisher(make_producer(settings), settings, connected=False)
        await publisher.connect()
        try:
            for i in range(0, count, 200):
                await publisher.publish(messages[i : i + 200], timeout_s=30)
        finally:
            await publisher.close()

    asyncio.run(publish())
    env = system | dev_credentials()["router"] | {"SWITCHBOARD_CONSUMER_BATCH_MAX": "50"}
    migrate("router", env)
    router = ServiceProcess("router", env, tmp_path / "router.log")
    router.start()
    try:
        # Stopped once it is under way: it has routed some of the backlog, not all.
        read_topic(prefix, Topic.ROUTING, until=1, timeout_s=120, linger_s=0)
        assert router.proc is not None
        router.proc.terminate()
        assert router.proc.wait(timeout=60) == 0, router.tail()
        before = read_topic(prefix, Topic.ROUTING, until=count, timeout_s=3, linger_s=0)
        assert 0 < len(before) < count, "not stopped mid-stream"
        router = ServiceProcess("router", env, tmp_path / "router2.log")
        router.start()
        decisions = read_topic(prefix, Topic.ROUTING, until=count, timeout_s=240)
    finally:
        router.kill()
    routed = [d for d in decisions if isinstance(d, MessageRouted)]
    # every message routed, each exactly once: the stop committed what it had applied
    assert sorted(str(d.message_id) for d in routed) == sorted(
        str(m.message_id) for m in messages if isinstance(m, MessageReceived)
    )
