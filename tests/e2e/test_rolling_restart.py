"""A rolling restart of two ingest replicas loses no webhook (issue 21): `make up` with
SB_INGEST_REPLICAS=2 (both behind the one port), a steady stream of signed SMS webhooks
while scripts/rolling_restart.sh SIGTERMs one replica, waits until it is back and ready,
then the other. Every webhook is answered 2xx (none refused, reset or failed) and every one
is in Kafka exactly once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from system_support import DERIVED, ROOT, System, running_system

from switchboard.events import MessageReceived, Topic, decode
from switchboard.ingest.adapters.twilio import signature

pytestmark = pytest.mark.e2e

RATE_PER_S = 20
LINE = "+12125550000"


class Stream:
    """Signed SMS webhooks at RATE_PER_S, each on a connection of its own (as a provider's
    webhooks come), until stopped; records every outcome."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.run = uuid.uuid4().hex[:8]
        self.outcomes: list[tuple[str, int | str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._send_all()))

    def __enter__(self) -> Stream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=120)

    async def _one(self, client: httpx.AsyncClient, i: int) -> None:
        sid = f"SMroll{self.run}{i:06d}"
        url = f"{self.system.ingest}/webhooks/twilio/sms/demo"
        params = {"MessageSid": sid, "From": f"+1646555{i % 10000:04d}", "To": LINE}
        params |= {"Body": "rolling restart check"}
        headers = {"X-Twilio-Signature": signature(self.system.twilio_token, url, params)}
        try:
            r = await client.post(url, data=params, headers=headers)
            self.outcomes.append((sid, r.status_code))
        except httpx.HTTPError as exc:  # refused, reset, timed out: a lost webhook
            self.outcomes.append((sid, type(exc).__name__))

    async def _send_all(self) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)  # a new connection each
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            tasks = []
            started = time.monotonic()
            i = 0
            while not self._stop.is_set():
                tasks.append(asyncio.create_task(self._one(client, i)))
                i += 1
                await asyncio.sleep(max(0.0, started + i / RATE_PER_S - time.monotonic()))
            await asyncio.gather(*tasks)


def received_sids(system: System, wanted: set[str], timeout_s: float = 120) -> Counter[str]:
    """How many times each wanted MessageSid is in the messages topic."""

    async def read() -> Counter[str]:
        consumer = AIOKafkaConsumer(
            system.topic_prefix + Topic.MESSAGES,
            bootstrap_servers=system.kafka,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        seen: Counter[str] = Counter()
        try:
            deadline = time.monotonic() + timeout_s
            quiet = 0
            while time.monotonic() < deadline and quiet < 10:
                batches = await consumer.getmany(timeout_ms=300)
                records = [r for rs in batches.values() for r in rs]
                quiet = 0 if records or not wanted <= set(seen) else quiet + 1
                for r in records:
                    event = decode(r.value)
                    if isinstance(event, MessageReceived) and event.provider_message_id in wanted:
                        seen[event.provider_message_id] += 1
        finally:
            await consumer.stop()
        return seen

    return asyncio.run(read())


def test_rolling_restart_of_two_ingest_replicas_loses_no_webhook(tmp_path: Path) -> None:
    port_base = int(os.environ.get("SB_E2E_PORT_BASE", "18000")) + 300
    run_home = tmp_path / "run"
    with running_system(
        run_home, port_base, demo=False, extra_env={"SB_INGEST_REPLICAS": "2"}
    ) as system:
        env = {k: v for k, v in os.environ.items() if k not in DERIVED} | {
            "SB_RUN_HOME": str(run_home),
            "SB_PORT_BASE": str(port_base),
        }
        with Stream(system) as stream:
            time.sleep(2)  # the stream is steady before the first stop
            restart = subprocess.run(
                ["bash", "scripts/rolling_restart.sh"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            time.sleep(2)
        assert restart.returncode == 0, restart.stdout + restart.stderr
        assert restart.stdout.count("back and ready") == 2, restart.stdout
        failed = [(sid, outcome) for sid, outcome in stream.outcomes if outcome != 200]
        print(f"rolling restart: {len(stream.outcomes)} webhooks, {len(failed)} failed")
        assert len(stream.outcomes) > 4 * RATE_PER_S
        assert failed == []
        accepted = {sid for sid, _ in stream.outcomes}
        seen = received_sids(system, accepted)
        assert set(seen) == accepted  # every acknowledged webhook is in the log
        assert set(seen.values()) == {1}  # exactly once
