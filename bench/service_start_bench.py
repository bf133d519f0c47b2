"""How fast each service starts and stops: the real `switchboard-<service> run` process, as
`make up` starts it (dev mode, against the running Kafka and PostgreSQL, on a database and
topic prefix of its own), N times each. Prints per service, p50 and max of:

- listening: process start until /healthz answers 200 (it accepts traffic)
- ready: process start until /readyz answers 200 (database, Kafka, consumers, schema)
- cpu: CPU seconds the process had used when it was listening (its own work, whatever
  else the machine is doing; wall times on a shared machine vary with its load)
- stop: SIGTERM until the process exited (and its exit code)

    uv run python bench/service_start_bench.py [--runs 5] [--services ingest,router]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from switchboard.platform.internal_api import dev_credentials
from switchboard.platform.kafka import ensure_topics
from switchboard.platform.settings import ServiceSettings

SERVICES = ("gateway", "ingest", "router", "inbox-projection", "notifier", "pm-sync")
PG_PORT = int(os.environ.get("PG_PORT", "55432"))
KAFKA = os.environ.get("SWITCHBOARD_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes], started: float, limit_s: float) -> float:
    while time.monotonic() - started < limit_s:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise TimeoutError(url)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_once(service: str, env: dict[str, str]) -> tuple[float, float, float, float, int]:
    port = free_port()
    env = env | {
        "SWITCHBOARD_HTTP_PORT": str(port),
        "SWITCHBOARD_INTERNAL_HTTP_PORT": str(free_port()),
        "SWITCHBOARD_SMTP_LISTEN_PORT": str(free_port()),
        "SWITCHBOARD_MLLP_PORT": str(free_port()),
    }
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(BIN / f"switchboard-{service}"), "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        listening = wait_for(f"http://127.0.0.1:{port}/healthz", proc, started, 120)
        cpu = cpu_seconds(proc.pid)
        ready = wait_for(f"http://127.0.0.1:{port}/readyz", proc, started, 120)
        stopping = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        return listening, ready, cpu, time.monotonic() - stopping, code
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--services", default=",".join(SERVICES))
    args = parser.parse_args()
    services = [s for s in args.services.split(",") if s]

    name = f"sb_startbench_{uuid.uuid4().hex[:8]}"
    database = f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/{name}"
    prefix = f"startbench{uuid.uuid4().hex[:6]}."
    admin = create_engine(
        f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    credentials = dev_credentials()
    base = {
        **os.environ,
        "SWITCHBOARD_ENV": "dev",
        "SWITCHBOARD_KAFKA_BOOTSTRAP": KAFKA,
        "SWITCHBOARD_DATABASE_URL": database,
        "SWITCHBOARD_TOPIC_PREFIX": prefix,
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
    }
    try:
        asyncio.run(ensure_topics(ServiceSettings(kafka_bootstrap=KAFKA, topic_prefix=prefix)))
        for s in services:
            subprocess.run(
                [str(BIN / f"switchboard-{s}"), "migrate"],
                env=base,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        print(f"{args.runs} starts each; seconds from exec (p50 / max); cpus {os.cpu_count()}")
        print(
            f"{'service':<18}{'listening':>14}{'ready':>14}{'cpu':>14}{'SIGTERM->exit':>16}"
            "  exit codes"
        )
        for s in services:
            env = base | credentials.get(s, {})
            runs = [run_once(s, env) for _ in range(args.runs)]

            def fig(i: int, runs: list[tuple[float, float, float, float, int]] = runs) -> str:
                values = [r[i] for r in runs]
                return f"{statistics.median(values):.2f} / {max(values):.2f}"

            codes = sorted({r[4] for r in runs})
            line = f"{s:<18}{fig(0):>14}{fig(1):>14}{fig(2):>14}{fig(3):>16}  {codes}"
            print(line, flush=True)
        print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
