"""The headline system benchmark (issue 17): `make bench-system`.

    uv run --frozen python bench/system_bench.py [--steps 100,200,500,1000,1500]
        [--duration 20] [--port-base 26000] [--no-bare] [--no-system]

Starts the whole system the way `make up` (and the tests, tests/system_support.py) do, with
its own run folder, ports, topic prefix and database against the running Kafka and
PostgreSQL (those of $SB_HOME, default .local; up.sh starts them there if they are not
running), and offers it an open-model constant-rate load of pre-signed Twilio SMS webhooks
from vegeta (compiled; installed from the Go module proxy into .cache/ on first use), one
step per rate. Per step: acks/s, ack p50/p99/max (vegeta's), webhook -> visible p50/p99 from
the read model's own timestamps (ingest's received_at, stored as the message's sent_at, to
the time the projection's transaction that made the routed conversation visible began:
`inbox.processed_events.processed_at`, now() of that transaction), acknowledged messages not
yet visible when the load stopped and how long they took to drain, and CPU (cores) and peak
RSS per process (the six services, this run's PostgreSQL backends, PostgreSQL's shared
background processes, the Kafka broker, vegeta). Then the same steps against bare aiokafka
pass-throughs in place of the services (bench/system_passthrough.py), and the ratio.

The Kafka broker and PostgreSQL's background processes are shared with whatever else runs on
the machine: their CPU figures include it.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.service_resources import SERVICES, TICK, _procs  # noqa: E402
from bench.system_passthrough import topics as bare_topics  # noqa: E402
from bench.system_report import (  # noqa: E402
    Step,
    parse_steps,
    parse_vegeta_csv,
    ratio_table,
    resources_table,
    sender_prefix,
    step_targets,
    steps_table,
)

VEGETA_VERSION = "v12.13.0"
VEGETA = ROOT / ".cache" / "go-bin" / "vegeta"
KAFKA = os.environ.get("SWITCHBOARD_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
PG_PORT = int(os.environ.get("PG_PORT", "55432"))
# Where the running Kafka and PostgreSQL keep their pid files (scripts/env.sh SB_HOME): up.sh
# then finds them running instead of starting a second pair on the same ports.
INFRA_HOME = os.environ.get("SB_HOME", str(ROOT / ".local"))
# Ports scripts/env.sh derives from the port base (tests/system_support.py).
DERIVED = ("SB_MLLP_PORT", "SB_DEMO_FHIR_PORT")
Pids = dict[str, set[int]]


def ensure_vegeta() -> Path:
    if VEGETA.exists():
        return VEGETA
    go = shutil.which("go") or "/usr/local/go/bin/go"
    env = os.environ | {
        "GOBIN": str(VEGETA.parent),
        "GOPATH": str(ROOT / ".cache" / "go"),
        "GOFLAGS": "-modcacherw",
    }
    print(f"installing vegeta {VEGETA_VERSION} into {VEGETA.parent} (once)", flush=True)
    subprocess.run(
        [go, "install", f"github.com/tsenart/vegeta/v12@{VEGETA_VERSION}"], env=env, check=True
    )
    return VEGETA


@dataclass
class Target:
    """What the load goes to, and how to read its read model and its processes."""

    name: str
    url: str
    token: str
    database: str
    visible_sql: str
    processes: Callable[[], Pids]


def _listening_pid(port: int) -> int | None:
    out = subprocess.run(
        ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=False
    ).stdout
    m = re.search(r"pid=(\d+)", out)
    return int(m.group(1)) if m else None


def _descendants(roots: set[int], procs: dict[int, tuple[int, str, int, int]]) -> set[int]:
    out = set(roots)
    grew = True
    while grew:
        more = {pid for pid, (ppid, *_) in procs.items() if ppid in out and pid not in out}
        out |= more
        grew = bool(more)
    return out


def infrastructure(database: str) -> Pids:
    """This run's PostgreSQL backends, PostgreSQL's shared background processes, the broker."""
    procs = _procs()
    out: Pids = {}
    postmaster = _listening_pid(PG_PORT)
    if postmaster:
        children = {p for p, (pp, *_) in procs.items() if pp == postmaster}
        mine = {p for p in children if f" {database} " in procs[p][1]}
        # client backends read "postgres: user database host(port) state"
        background = {p for p in children if not re.search(r"\d\(\d+\)", procs[p][1])}
        out["postgres (this run's backends)"] = mine
        out["postgres (shared background)"] = background | {postmaster}
    broker = _listening_pid(int(KAFKA.rsplit(":", 1)[1]))
    if broker:
        out["kafka (shared broker)"] = {broker}
    return out


def environ_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def service_processes(run_home: Path, database: str) -> Callable[[], Pids]:
    def pids() -> Pids:
        procs = _procs()
        out: Pids = {}
        for s in SERVICES:
            roots = {
                p
                for p, (_, cmd, *_) in procs.items()
                if f"switchboard-{s} run" in cmd and str(run_home) in environ_of(p)
            }
            out[s] = _descendants(roots, procs)
        return out | infrastructure(database)

    return pids


def bare_processes(prefix: str, database: str) -> Callable[[], Pids]:
    def pids() -> Pids:
        procs = _procs()
        out: Pids = {}
        for role in ("ingest", "router", "projection"):
            out[f"bare {role}"] = {
                p
                for p, (_, cmd, *_) in procs.items()
                if f"system_passthrough.py {role} --prefix {prefix}" in cmd
            }
        return out | infrastructure(database)

    return pids


def measure(
    processes: Callable[[], Pids], load: Callable[[], subprocess.Popen[bytes]]
) -> dict[str, tuple[float, int]]:
    """CPU (mean cores) and peak RSS of each group of processes while the load generator
    `load` starts runs, sampled from /proc once a second (vegeta counted as a group too)."""
    groups = processes()
    first = _procs()
    t0 = time.monotonic()
    # vegeta's CPU from the kernel's account of waited-for children (it is gone from /proc
    # by the time the last sample would read it)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    generator = load()
    groups["vegeta"] = {generator.pid}
    peak = dict.fromkeys(groups, 0)
    latest = {p: v[3] for p, v in first.items()}
    while True:
        done = generator.poll() is not None
        now = _procs()
        latest |= {p: v[3] for p, v in now.items()}
        for name, ps in groups.items():
            peak[name] = max(peak[name], sum(now[p][2] for p in ps if p in now))
        if done:
            break
        time.sleep(1)
    t1 = time.monotonic()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # processes that started during the step (e.g. new PostgreSQL connections) from zero
    for name, ps in processes().items():
        groups[name] = groups.get(name, set()) | ps
    wall = max(t1 - t0, 1e-9)
    out = {}
    for name, ps in groups.items():
        ticks = sum(latest.get(p, 0) - (first[p][3] if p in first else 0) for p in ps)
        out[name] = (ticks / TICK / wall, peak[name])
    cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    out["vegeta"] = (cpu / wall, peak["vegeta"])
    return out


def attack(target: Target, rate: int, step: int, duration: int, work: Path, run: str) -> Step:
    vegeta = ensure_vegeta()
    # A few more targets than hits: vegeta cycles through them, so none is sent twice.
    count = rate * duration + rate
    targets = work / f"{target.name}-{rate}.targets"
    targets.write_text("\n".join(step_targets(target.url, target.token, run, step, count)) + "\n")
    results = work / f"{target.name}-{rate}.bin"
    cmd = [
        str(vegeta),
        "attack",
        "-format=json",
        f"-targets={targets}",
        f"-rate={rate}/1s",
        f"-duration={duration}s",
        "-timeout=30s",
        f"-output={results}",
    ]
    resources = measure(target.processes, lambda: subprocess.Popen(cmd))
    csv_text = subprocess.run(
        [str(vegeta), "encode", "-to", "csv", str(results)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    hits = parse_vegeta_csv(csv.reader(csv_text.splitlines()))
    result = Step(rate=rate, duration_s=duration, hits=hits, resources=resources)
    settle(target, step, result)
    return result


def visible_rows(target: Target, step: int) -> list[tuple[float, float]]:
    """(received at, visible at), unix seconds, per message of this step in the read model."""
    with psycopg.connect(f"postgresql://switchboard@127.0.0.1:{PG_PORT}/{target.database}") as conn:
        rows = conn.execute(target.visible_sql, (sender_prefix(step) + "%",)).fetchall()
    return [(float(a), float(b)) for a, b in rows]


def settle(target: Target, step: int, result: Step, timeout_s: float = 120) -> None:
    """Wait until every acknowledged message is visible (or nothing moved for 20 s), then
    fill in the visibility figures."""
    want = len(result.ok)
    deadline = time.monotonic() + timeout_s
    rows: list[tuple[float, float]] = []
    moved = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - moved < 20:
        now = visible_rows(target, step)
        if len(now) > len(rows):
            moved = time.monotonic()
        rows = now
        if len(rows) >= want:
            break
        time.sleep(1)
    result.visible_s = [v - r for r, v in rows]
    load_end = min((h.sent_at for h in result.hits), default=0.0) + result.duration_s
    late = [v for _, v in rows if v > load_end]
    result.lag_at_end = len(late) + max(0, want - len(rows))
    result.drain_s = max(late, default=load_end) - load_end


SYSTEM_VISIBLE = """
SELECT extract(epoch FROM m.sent_at), extract(epoch FROM max(p.processed_at))
FROM inbox.messages m
JOIN inbox.conversations c ON c.conversation_id = m.conversation_id AND c.routed_at IS NOT NULL
JOIN inbox.applied a ON a.conversation_id = m.conversation_id
JOIN inbox.processed_events p ON p.event_id = a.event_id
WHERE m.sender LIKE %s
GROUP BY m.message_id, m.sent_at
"""

BARE_VISIBLE = """
SELECT extract(epoch FROM received_at), extract(epoch FROM applied_at)
FROM bare.visible WHERE sender LIKE %s
"""


def run_env(run_home: Path, port_base: int, prefix: str, database: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k not in DERIVED}
    return inherited | {
        "SB_HOME": INFRA_HOME,
        "SB_RUN_HOME": str(run_home),
        "SB_PORT_BASE": str(port_base),
        "SB_DB_NAME": database,
        "SWITCHBOARD_TOPIC_PREFIX": prefix,
        "SWITCHBOARD_ENV": "dev",
        "SB_SKIP_DEMO": "1",
    }


def admin_sql(sql: str) -> None:
    with psycopg.connect(
        f"postgresql://switchboard@127.0.0.1:{PG_PORT}/postgres", autocommit=True
    ) as conn:
        conn.execute(sql)


async def _topics(create: list[str], delete_prefix: str | None = None) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        if create:
            await admin.create_topics([NewTopic(t, 6, 1) for t in create])
        if delete_prefix:
            doomed = [t for t in await admin.list_topics() if t.startswith(delete_prefix)]
            if doomed:
                await admin.delete_topics(doomed)
    finally:
        await admin.close()


@contextmanager
def system(run_home: Path, port_base: int) -> Iterator[Target]:
    prefix = f"sysbench{uuid.uuid4().hex[:6]}."
    database = f"sb_sysbench_{uuid.uuid4().hex[:8]}"
    env = run_env(run_home, port_base, prefix, database)
    try:
        print(f"starting the system on port base {port_base} ({run_home})", flush=True)
        up = subprocess.run(
            ["bash", "scripts/up.sh"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if up.returncode != 0:
            raise SystemExit(f"scripts/up.sh failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}")
        secrets = dict(
            line.split("=", 1)
            for line in (run_home / "secrets.env").read_text().splitlines()
            if "=" in line
        )
        yield Target(
            name="system",
            url=f"http://127.0.0.1:{port_base + 1}/webhooks/twilio/sms/demo",
            token=secrets["SWITCHBOARD_TWILIO_AUTH_TOKEN"],
            database=database,
            visible_sql=SYSTEM_VISIBLE,
            processes=service_processes(run_home, database),
        )
    finally:
        subprocess.run(
            ["bash", "scripts/down.sh"], cwd=ROOT, env=env | {"SB_KEEP_INFRA": "1"}, check=False
        )
        admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        asyncio.run(_topics([], delete_prefix=prefix))


@contextmanager
def bare(work: Path, port: int) -> Iterator[Target]:
    prefix = f"sysbare{uuid.uuid4().hex[:6]}."
    database = f"sb_sysbare_{uuid.uuid4().hex[:8]}"
    admin_sql(f'CREATE DATABASE "{database}"')
    asyncio.run(_topics(list(bare_topics(prefix))))
    script = str(ROOT / "bench" / "system_passthrough.py")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for role, extra in (
            ("projection", ["--database", database]),
            ("router", []),
            ("ingest", ["--port", str(port)]),
        ):
            log = (work / f"bare-{role}.log").open("wb")
            procs.append(
                subprocess.Popen(
                    [sys.executable, script, role, "--prefix", prefix, *extra],
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        wait_ready(f"http://127.0.0.1:{port}/readyz", procs)
        yield Target(
            name="bare",
            url=f"http://127.0.0.1:{port}/webhooks/twilio/sms/demo",
            token="bare",
            database=database,
            visible_sql=BARE_VISIBLE,
            processes=bare_processes(prefix, database),
        )
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        asyncio.run(_topics([], delete_prefix=prefix))


def wait_ready(url: str, procs: list[subprocess.Popen[bytes]], timeout_s: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise SystemExit("a pass-through exited at start (see its log in the work folder)")
        try:
            if httpx.post(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} not ready in {timeout_s:.0f} s")


def run_steps(
    target: Target, rates: list[int], duration: int, work: Path, pause: float
) -> list[Step]:
    run = uuid.uuid4().hex[:6]
    steps = []
    for i, rate in enumerate(rates):
        print(f"[{target.name}] {rate}/s for {duration} s; {machine()}", flush=True)
        step = attack(target, rate, i + 1, duration, work, run)
        print(steps_table([step]).splitlines()[-1], flush=True)
        steps.append(step)
        time.sleep(pause)  # let the machine settle between steps
    return steps


def idle_cost(target: Target, seconds: int, settle_s: float = 15) -> None:
    """Each process's CPU with no traffic at all (issue 17: < 0.5 % of a core per service),
    after the start-up has settled."""
    time.sleep(settle_s)
    print(f"[{target.name}] idle for {seconds} s; {machine()}", flush=True)
    resources = measure(target.processes, lambda: subprocess.Popen(["sleep", str(seconds)]))
    rows = [
        f"| {name} | {100 * cores:.2f} | {rss / 2**20:.0f} |"
        for name, (cores, rss) in resources.items()
        if name != "vegeta"
    ]
    table = "| process | idle CPU, % of a core | RSS MiB |\n|---|---:|---:|\n" + "\n".join(rows)
    print(f"\n## idle ({seconds} s)\n\n{table}\n", flush=True)


def machine() -> str:
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        f"at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


def report(name: str, steps: list[Step]) -> None:
    print(f"\n## {name}\n\n{steps_table(steps)}\n\n{resources_table(steps)}\n", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", default="100,200,500,1000,1500", help="offered rates, per second")
    ap.add_argument("--duration", type=int, default=20, help="seconds per step")
    ap.add_argument("--port-base", type=int, default=int(os.environ.get("SB_PORT_BASE", 26000)))
    ap.add_argument("--pause", type=float, default=5, help="seconds between steps")
    ap.add_argument("--no-bare", action="store_true", help="skip the pass-through comparison")
    ap.add_argument("--no-system", action="store_true", help="only the pass-throughs")
    ap.add_argument("--work", type=Path, default=None, help="folder for targets and results")
    ap.add_argument(
        "--idle",
        type=int,
        default=0,
        help="first measure each process's CPU with no traffic for this many seconds",
    )
    args = ap.parse_args()
    rates = parse_steps(args.steps) if args.steps or not args.idle else []
    work = args.work or Path(f"/tmp/sysbench-{uuid.uuid4().hex[:6]}")
    work.mkdir(parents=True, exist_ok=True)
    ensure_vegeta()
    print(f"machine: {machine()}", flush=True)
    system_steps: list[Step] = []
    bare_steps: list[Step] = []
    if not args.no_system:
        with system(work / "run", args.port_base) as target:
            if args.idle:
                idle_cost(target, args.idle)
            system_steps = run_steps(target, rates, args.duration, work, args.pause)
        report("system", system_steps)
    if not args.no_bare:
        with bare(work, args.port_base + 80) as target:
            bare_steps = run_steps(target, rates, args.duration, work, args.pause)
        report("bare pass-throughs", bare_steps)
    if system_steps and bare_steps:
        print(f"## system / bare\n\n{ratio_table(system_steps, bare_steps)}\n")
    print(f"machine at the end: {machine()}")


if __name__ == "__main__":
    main()
