"""Alerts per second fanned out by one notifier process (in-app and webhook).

Needs the local Kafka and PostgreSQL (`make up` or `bash scripts/kafka.sh start` and
`bash scripts/postgres.sh start`); uses its own database and topic prefix and removes the
database afterwards.

Set-up: one practice, a signed webhook subscription pointing at a receiver in this process,
`--staff` staff members who each chose in-app and webhook alerts. One `switchboard-notifier`
process is started; `--routed` routing decisions, each for its own conversation (nothing
coalesces) with `--recipients` staff, are put on the routing topic, and the
alerts are counted as AlertSent events on the notifications topic (in-app alerts are those
events; webhook alerts are counted once the receiver answered 2xx and the notifier
reported them) and as alerts in the signed requests the receiver got.

    uv run python bench/notifier_fanout_bench.py [--routed 4000] [--recipients 3]
        [--webhook-batch 50]

Target: >= 2,000 alerts/s. Figures: "steady" = alerts / (last AlertSent - first AlertSent),
by Kafka record time; "from queued" counts from when the decisions were all on the topic.
The notifier is started and its configuration applied before the decisions are queued.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from aiokafka import AIOKafkaConsumer  # noqa: E402
from notifier_support import HttpReceiver, free_port  # noqa: E402
from proc_cpu import cpu_seconds, per_message_ms  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from switchboard.events import (  # noqa: E402
    ChannelChoice,
    MessageRouted,
    NotificationPreferencesChanged,
    Topic,
    WebhookSubscriptionChanged,
)
from switchboard.notifier.app import MIGRATIONS  # noqa: E402
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer  # noqa: E402
from switchboard.platform.migrations import upgrade  # noqa: E402
from switchboard.platform.settings import ServiceSettings  # noqa: E402
from switchboard.rules.signing import verify  # noqa: E402

PG_PORT = int(os.environ.get("PG_PORT", "55432"))
KAFKA = os.environ.get("SWITCHBOARD_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
SECRET = "bench-secret-0123456789"


def envelope(practice: str) -> dict:
    eid = uuid.uuid4()
    return {
        "event_id": eid,
        "occurred_at": datetime.now(UTC),
        "practice_id": practice,
        "correlation_id": eid,
    }


async def main(args: argparse.Namespace) -> None:
    db = f"sb_bench_nt_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    url = f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/{db}"
    settings = ServiceSettings(
        kafka_bootstrap=KAFKA, database_url=url, topic_prefix=f"bnt{uuid.uuid4().hex[:6]}."
    )
    proc: subprocess.Popen[bytes] | None = None
    receiver = HttpReceiver(keep=False)
    alerts_received = 0
    bad_signatures = 0

    def behaviour(req):
        nonlocal alerts_received, bad_signatures
        ok = verify(
            SECRET,
            req.headers.get("x-switchboard-timestamp"),
            req.headers.get("x-switchboard-signature"),
            req.body,
            now=time.time(),
        )
        if not ok:
            bad_signatures += 1
            return 401, 0.0
        alerts_received += len(json.loads(req.body)["alerts"])
        return 200, 0.0

    receiver.behaviour = behaviour
    try:
        upgrade(MIGRATIONS, url)
        await ensure_topics(settings)
        await receiver.start()
        producer = make_producer(settings)
        await producer.start()
        publisher = Publisher(producer, settings)
        practice = "bench"
        staff = [f"u-{i}" for i in range(args.staff)]
        config = [
            WebhookSubscriptionChanged(
                **envelope(practice),
                actor="u-admin",
                subscription_id="hook",
                url=f"{receiver.url}/hook",
                secret=SECRET,
            ),
            *[
                NotificationPreferencesChanged(
                    **envelope(practice),
                    actor=s,
                    staff_id=s,
                    channels=(
                        ChannelChoice(channel="in_app"),
                        ChannelChoice(channel="webhook", address="hook"),
                    ),
                )
                for s in staff
            ],
        ]
        await publisher.publish(config)
        consumer = AIOKafkaConsumer(
            settings.topic(Topic.NOTIFICATIONS),
            bootstrap_servers=KAFKA,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=100,
        )
        await consumer.start()
        env = os.environ | {
            "SWITCHBOARD_ENV": "dev",  # a bench run: warn about secrets, never refuse
            "SWITCHBOARD_KAFKA_BOOTSTRAP": KAFKA,
            "SWITCHBOARD_DATABASE_URL": url,
            "SWITCHBOARD_TOPIC_PREFIX": settings.topic_prefix,
            "SWITCHBOARD_HTTP_PORT": str(free_port()),
            "SWITCHBOARD_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "SWITCHBOARD_WEBHOOK_BATCH_MAX": str(args.webhook_batch),
        }
        proc = subprocess.Popen(  # noqa: ASYNC220 - started once, before timing matters
            [str(Path(sys.executable).parent / "switchboard-notifier"), "run"],
            env=env,
            stdout=open(args.log, "wb") if args.log else subprocess.DEVNULL,  # noqa: SIM115, ASYNC230
            stderr=subprocess.STDOUT,
        )
        # Steady state, not a race at start-up: the configuration is applied first.
        engine = create_engine(url)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with engine.connect() as conn:
                    n = conn.execute(text("SELECT count(*) FROM notifier.staff_settings")).scalar()
                    hooks = conn.execute(text("SELECT count(*) FROM notifier.webhooks")).scalar()
                if n == len(staff) and hooks == 1:
                    break
            except Exception:
                pass
            await asyncio.sleep(0.2)
        engine.dispose()
        now = datetime.now(UTC)
        routed = []
        for i in range(args.routed):
            recipients = tuple(staff[(i + k) % len(staff)] for k in range(args.recipients))
            routed.append(
                MessageRouted(
                    **envelope(practice),
                    message_id=uuid.uuid4(),
                    conversation_id=uuid.uuid4(),
                    reason="refills",
                    reason_source="patient_pick",
                    recipients=recipients,
                    decided_at=now,
                )
            )
        assert proc is not None
        cpu0 = cpu_seconds([proc.pid])
        for i in range(0, len(routed), 1000):
            await publisher.publish(routed[i : i + 1000], timeout_s=60)
        expected = args.routed * args.recipients * 2
        print(
            f"queued {args.routed} routing decisions x {args.recipients} recipients x "
            f"(in-app + webhook) = {expected} alerts"
        )

        await producer.stop()
        started = time.monotonic()
        counts = {"in_app": 0, "webhook": 0}
        failed = 0
        first_ts = last_ts = None
        deadline = time.monotonic() + args.timeout
        last_note = time.monotonic()
        while sum(counts.values()) < expected and time.monotonic() < deadline:
            if args.verbose and time.monotonic() - last_note > 5:
                last_note = time.monotonic()
                print(f"  ... {counts} received={alerts_received}", flush=True)
            batches = await consumer.getmany(timeout_ms=500, max_records=10000)
            for records in batches.values():
                for r in records:
                    if b'"event_type":"AlertFailed"' in r.value:
                        failed += 1
                    if b'"event_type":"AlertSent"' not in r.value:
                        continue
                    channel = "in_app" if b'"channel":"in_app"' in r.value else "webhook"
                    counts[channel] += 1
                    first_ts = r.timestamp if first_ts is None else min(first_ts, r.timestamp)
                    last_ts = r.timestamp if last_ts is None else max(last_ts, r.timestamp)
        total_s = time.monotonic() - started
        notifier_cpu = cpu_seconds([proc.pid]) - cpu0
        await consumer.stop()
        done = sum(counts.values())
        steady_s = max((last_ts or 0) - (first_ts or 0), 1) / 1000
        print(
            f"alerts sent: {done} of {expected} (in-app {counts['in_app']}, webhook "
            f"{counts['webhook']}); webhook alerts received and signature-checked: "
            f"{alerts_received}; bad signatures: {bad_signatures}; AlertFailed: {failed}"
        )
        print(
            f"steady: {done / steady_s:,.0f} alerts/s over {steady_s:.2f} s "
            f"(first to last AlertSent)"
        )
        print(f"from queued to last alert: {done / total_s:,.0f} alerts/s over {total_s:.2f} s")
        print(
            f"notifier: {per_message_ms(notifier_cpu, args.routed).replace('message', 'decision')}"
        )
        print(
            "target >= 2,000 alerts/s:",
            "met" if done == expected and done / steady_s >= 2000 else "NOT met",
        )
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        await receiver.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routed", type=int, default=4000)
    parser.add_argument("--recipients", type=int, default=3)
    parser.add_argument("--staff", type=int, default=50)
    parser.add_argument("--webhook-batch", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--log", help="write the notifier's log to this file")
    parser.add_argument("--verbose", action="store_true")
    asyncio.run(main(parser.parse_args()))
