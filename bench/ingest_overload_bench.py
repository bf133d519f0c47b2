"""ingest past its capacity: answers stay quick (429 + Retry-After) and memory stays bounded.

    uv run python bench/ingest_overload_bench.py [--seconds 60] [--factor 5] [--max-in-flight 64]

One real ingest process (`switchboard-ingest run`) against the running Kafka and PostgreSQL,
with a throw-away database and topic prefix (the set-up of ingest_webhook_bench.py, whose
request builder and connection pool this reuses).

1. Capacity: a closed loop with `--concurrency` signed SMS webhooks always in flight for
   `--capacity-seconds`: the webhooks/s this process sustains here.
2. Overload: an open loop at `--factor` x that capacity for `--seconds`. Prints how many were
   accepted (200, after Kafka's acks=all) and shed (429), other answers (status: count; 0 is
   no answer), the latency of the answers and ingest's RSS at start, peak and end (/proc).

The load generator shares the machine's cores with ingest, Kafka and PostgreSQL: the rate it
reached is printed beside the rate asked for.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

import httpx
from ingest_webhook_bench import KAFKA, PG_PORT, TOKEN, Pool, Requests, free_port, pct
from sqlalchemy import create_engine, text

from switchboard.ingest.app import MIGRATIONS
from switchboard.platform.kafka import ensure_topics
from switchboard.platform.migrations import upgrade
from switchboard.platform.settings import ServiceSettings

PAGE = os.sysconf("SC_PAGE_SIZE")


class Rss:
    """ingest's resident memory, sampled every 0.2 s from /proc in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> int:
        with open(f"/proc/{self.pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            with contextlib.suppress(OSError):
                self.samples.append(self.now())

    def __enter__(self) -> Rss:
        self.samples.append(self.now())
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.samples.append(self.now())


async def call(pool: Pool, request: bytes, out: list[tuple[int, float]]) -> None:
    """One webhook: its status (0: no answer / connection refused) and the time from when
    the generator got to it (connection included) to the answer -- not from when it was due:
    the generator shares the cores, and its own lag is not ingest's."""
    due = time.perf_counter()
    for attempt in range(2):
        try:
            conn = await pool.get() if attempt == 0 else await pool.new()
            status = await conn.call(request)
        except (OSError, asyncio.IncompleteReadError):
            if attempt == 1:
                out.append((0, time.perf_counter() - due))
                return
            continue
        pool.put(conn)
        out.append((status, time.perf_counter() - due))
        return


async def capacity(reqs: Requests, concurrency: int, seconds: float) -> float:
    out: list[tuple[int, float]] = []
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        pool = Pool(reqs.port)
        while time.perf_counter() < stop:
            await call(pool, reqs.next(), out)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sum(1 for s, _ in out if s == 200) / (time.perf_counter() - t0)


async def overload(reqs: Requests, rate: float, seconds: float) -> tuple[list, float]:
    pool, out, tasks = Pool(reqs.port), [], []
    n = int(rate * seconds)
    t0 = time.perf_counter()
    for i in range(n):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(call(pool, reqs.next(), out)))
    offered = n / (time.perf_counter() - t0)
    await asyncio.gather(*tasks)
    return out, offered


async def load(port: int, run: str, pid: int, args: argparse.Namespace) -> None:
    reqs = Requests(port, run)
    await capacity(reqs, 4, 2)  # warm-up: connections, caches, the producer
    cap = await capacity(reqs, args.concurrency, args.capacity_seconds)
    rate = cap * args.factor
    print(
        f"one ingest process, SWITCHBOARD_INGEST_MAX_IN_FLIGHT={args.max_in_flight}, "
        f"Kafka acks=all, log level {args.log_level}, 2 shared cores"
    )
    print(f"capacity ({args.concurrency} in flight): {cap:.0f} webhooks/s")
    with Rss(pid) as rss:
        out, offered = await overload(reqs, rate, args.seconds)
    ok = [t for s, t in out if s == 200]
    shed = [t for s, t in out if s == 429]
    other = sorted(Counter(s for s, _ in out if s not in (200, 429)).items())
    every = [t for _, t in out]
    print(
        f"overload: {args.factor:g}x = {rate:.0f}/s asked, {offered:.0f}/s offered, "
        f"{args.seconds:g} s, {len(out)} webhooks"
    )
    print(f"  accepted (200): {len(ok)}   shed (429): {len(shed)}   other: {other or 'none'}")
    for name, values in (("all answers", every), ("accepted", ok), ("shed", shed)):
        print(
            f"  {name:12s} p50 {pct(values, 0.5):8.1f} ms   p99 {pct(values, 0.99):8.1f} ms   "
            f"max {pct(values, 1.0):8.1f} ms"
        )
    mib = 1024 * 1024
    print(
        f"  ingest RSS: start {rss.samples[0] / mib:.0f} MiB   peak {max(rss.samples) / mib:.0f} "
        f"MiB   end {rss.samples[-1] / mib:.0f} MiB"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--factor", type=float, default=5.0)
    ap.add_argument("--max-in-flight", type=int, default=64)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--capacity-seconds", type=float, default=10.0)
    ap.add_argument("--log-level", default="WARNING")
    args = ap.parse_args()

    run = uuid.uuid4().hex[:8]
    db = f"sb_bench_overload_{run}"
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
        "SWITCHBOARD_ATTACHMENT_DIR": f"/tmp/sb-bench-overload-{run}",
        "SWITCHBOARD_LOG_LEVEL": args.log_level,
        "SWITCHBOARD_INGEST_MAX_IN_FLIGHT": str(args.max_in_flight),
    }
    exe = os.path.join(os.path.dirname(sys.executable), "switchboard-ingest")
    log_path = f"/tmp/sb-bench-overload-{run}.log"
    log_file = open(log_path, "w")  # noqa: SIM115
    proc = subprocess.Popen([exe, "run"], env=env, stdout=log_file, stderr=subprocess.STDOUT)
    print(f"ingest log: {log_path}")
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("ingest did not become ready")
            time.sleep(0.2)
        asyncio.run(load(port, run, proc.pid, args))
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
