"""SMS webhook acknowledgement under load: one real ingest process (`switchboard-ingest run`)
against the running Kafka and PostgreSQL, with a throw-away database and topic prefix.

    uv run python bench/ingest_webhook_bench.py [--rate 200] [--seconds 20] [--max-seconds 15]

1. Open loop at `--rate` webhooks/s for `--seconds`: latency of each signed Twilio-style
   webhook from the moment it was due (so a slow answer delays nothing unseen) until its
   200, which ingest sends only after Kafka's acks=all. Every sender is a new number
   (the unrecognized case: one contacts look-up in PostgreSQL per webhook).
2. Closed loop with `--concurrency` webhooks always in flight for `--max-seconds`: the most
   webhooks/s the process sustains, with its latency.

The load generator runs on the same machine (pre-signed requests over plain keep-alive
connections, to cost as little CPU as it can); figures are of this machine, shared.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import urlencode

import httpx
from proc_cpu import cpu_seconds, per_message_ms
from sqlalchemy import create_engine, text

from switchboard.ingest.adapters.twilio import signature
from switchboard.ingest.app import MIGRATIONS
from switchboard.platform.kafka import ensure_topics
from switchboard.platform.migrations import upgrade
from switchboard.platform.settings import ServiceSettings

PG_PORT = int(os.environ.get("PG_PORT", "55432"))
KAFKA = os.environ.get("SWITCHBOARD_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
TOKEN = "bench-twilio-token"
LINE = "+12125550000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


class Requests:
    """Pre-built, pre-signed HTTP/1.1 requests (unique MessageSid and sender each)."""

    def __init__(self, port: int, run: str) -> None:
        self.port = port
        self.path = "/webhooks/twilio/sms/demo"
        self.url = f"http://127.0.0.1:{port}{self.path}"
        self.run = run
        self.n = 0

    def next(self) -> bytes:
        i = self.n
        self.n += 1
        params = {
            "MessageSid": f"SMb{self.run}{i:07d}",
            "From": f"+1646{int(self.run[:4], 16) % 1000:03d}{i % 10000:04d}",
            "To": LINE,
            "Body": "Hi, I need a refill of my prescription please.",
            "NumMedia": "0",
        }
        body = urlencode(params).encode()
        head = (
            f"POST {self.path} HTTP/1.1\r\nhost: 127.0.0.1:{self.port}\r\n"
            "content-type: application/x-www-form-urlencoded\r\n"
            f"x-twilio-signature: {signature(TOKEN, self.url, params)}\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body


class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def call(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await self.reader.readexactly(length)
        return status


class Pool:
    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[Conn] = []

    async def get(self) -> Conn:
        if self.idle:
            return self.idle.pop()
        return await self.new()

    async def new(self) -> Conn:
        return Conn(*await asyncio.open_connection("127.0.0.1", self.port))

    def put(self, conn: Conn) -> None:
        self.idle.append(conn)


async def one(pool: Pool, request: bytes, due: float, lat: list[float], errors: list[int]) -> None:
    for attempt in range(2):
        conn = await pool.get() if attempt == 0 else await pool.new()
        try:
            status = await conn.call(request)
            break
        except (OSError, asyncio.IncompleteReadError):
            # A keep-alive connection the server closed while idle: once more on a new one
            # (the same MessageSid, so even a repeat would be one message).
            if attempt == 1:
                errors.append(0)
                return
    pool.put(conn)
    if status != 200:
        errors.append(status)
        return
    lat.append(time.perf_counter() - due)


async def open_loop(
    reqs: Requests, rate: float, seconds: float
) -> tuple[list[float], list[int], float]:
    pool, lat, errors, tasks = Pool(reqs.port), [], [], []
    prepared = [reqs.next() for _ in range(int(rate * seconds))]
    t0 = time.perf_counter()
    for i, request in enumerate(prepared):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(pool, request, due, lat, errors)))
    await asyncio.gather(*tasks)
    return lat, errors, len(prepared) / (time.perf_counter() - t0)


async def closed_loop(
    reqs: Requests, concurrency: int, seconds: float
) -> tuple[list[float], list[int], float]:
    lat: list[float] = []
    errors: list[int] = []
    stop = time.perf_counter() + seconds
    prepared = [reqs.next() for _ in range(int(3000 * seconds))]
    it = iter(prepared)

    async def worker() -> None:
        pool = Pool(reqs.port)
        while time.perf_counter() < stop:
            request = next(it, None)
            if request is None:
                return
            await one(pool, request, time.perf_counter(), lat, errors)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return lat, errors, len(lat) / (time.perf_counter() - t0)


def report(name: str, lat: list[float], errors: list[int], rate: float) -> None:
    print(
        f"{name}: {rate:6.0f} webhooks/s   ack p50 {pct(lat, 0.5):6.1f} ms   "
        f"p99 {pct(lat, 0.99):6.1f} ms   max {pct(lat, 1.0):6.1f} ms   "
        f"({len(lat)} ok, {len(errors)} errors{_kinds(errors)})"
    )


def _kinds(errors: list[int]) -> str:
    if not errors:
        return ""
    kinds = sorted({e: errors.count(e) for e in errors}.items())
    return ": " + ", ".join(f"{n}x {'connection' if e == 0 else e}" for e, n in kinds)


async def load(port: int, run: str, args: argparse.Namespace, pid: int) -> None:
    reqs = Requests(port, run)
    await open_loop(reqs, 50, 3)  # warm-up: connections, caches, the producer
    print(f"one ingest process, Kafka acks=all, log level {args.log_level}, 2 shared cores")
    cpu0 = cpu_seconds([pid])
    lat, errors, rate = await open_loop(reqs, args.rate, args.seconds)
    report(f"open loop, {args.rate:.0f}/s offered for {args.seconds:.0f}s", lat, errors, rate)
    print(f"  ingest {per_message_ms(cpu_seconds([pid]) - cpu0, len(lat))}")
    cpu0 = cpu_seconds([pid])
    lat, errors, rate = await closed_loop(reqs, args.concurrency, args.max_seconds)
    report(f"closed loop, {args.concurrency} in flight (max)", lat, errors, rate)
    print(f"  ingest {per_message_ms(cpu_seconds([pid]) - cpu0, len(lat))}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--max-seconds", type=float, default=15.0)
    ap.add_argument("--log-level", default="INFO")
    args = ap.parse_args()

    run = uuid.uuid4().hex[:8]
    db = f"sb_bench_ingest_{run}"
    admin = create_engine(
        f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    url = f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/{db}"
    settings = ServiceSettings(kafka_bootstrap=KAFKA, topic_prefix=f"bench{run}.", database_url=url)
    upgrade(MIGRATIONS, url)
    asyncio.run(ensure_topics(settings))
    port = free_port()
    env = os.environ | {
        "SWITCHBOARD_ENV": "dev",  # a bench run: warn about secrets, never refuse
        "SWITCHBOARD_KAFKA_BOOTSTRAP": KAFKA,
        "SWITCHBOARD_DATABASE_URL": url,
        "SWITCHBOARD_TOPIC_PREFIX": settings.topic_prefix,
        "SWITCHBOARD_HTTP_PORT": str(port),
        "SWITCHBOARD_SMTP_LISTEN_PORT": str(free_port()),
        "SWITCHBOARD_TWILIO_AUTH_TOKEN": TOKEN,
        "SWITCHBOARD_ATTACHMENT_DIR": f"/tmp/sb-bench-ingest-{run}",
        "SWITCHBOARD_LOG_LEVEL": args.log_level,
    }
    exe = os.path.join(os.path.dirname(sys.executable), "switchboard-ingest")
    log_path = f"/tmp/sb-bench-ingest-{run}.log"
    log_file = open(log_path, "w")  # noqa: SIM115
    proc = subprocess.Popen([exe, "run"], env=env, stdout=log_file, stderr=subprocess.STDOUT)
    print(f"ingest log: {log_path}")
    try:
        deadline = time.monotonic() + 300  # a crowded machine takes minutes to start it
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("ingest did not become ready")
            time.sleep(0.2)
        asyncio.run(load(port, run, args, proc.pid))
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
