"""The fault harness's I/O: its own Kafka and PostgreSQL, the whole system started by
scripts/up.sh (tests/system_support.py's `running_system`), the load through every channel,
the faults, and the read-model counts the invariants are checked against.

Its Kafka and PostgreSQL are its own (own SB_HOME and ports), because it stops them: never
the developer's or the shared ones. Messages carry synthetic data only, and a token
(`fz<run>x<seq>`) in their text; the harness prints counts, never a message's text.

Its size: one harness (infrastructure, load, faults, counts) run as one script; the parts
that can be pure (plan, ledger, report) are in their own modules."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType

import httpx
import psycopg
from aiokafka import AIOKafkaConsumer

from tools.faults import netcut
from tools.faults.ledger import OK, Attempt, Ledger, Window, availability, classify_http, verdict
from tools.faults.plan import SERVICES, Fault, PlanSpec, schedule
from tools.faults.replies import PATIENT_PHONES, Replier, converge_replies
from tools.faults.report import RunFigures

ROOT = Path(__file__).resolve().parents[2]
# tests/system_support.py starts the system as the e2e tests do (pytest puts tests/ on the
# path already; `python -m tools.faults` does not). Appended: nothing of ours is shadowed.
if str(ROOT / "tests") not in sys.path:
    sys.path.append(str(ROOT / "tests"))

from system_support import System, running_system  # noqa: E402

from switchboard.ingest.adapters.twilio import signature  # noqa: E402
from switchboard.pm_sync.adapters.mllp import MLLPClient, ack_code  # noqa: E402
from switchboard.rules.signing import signed_headers  # noqa: E402

SHARED_KAFKA_PORT, SHARED_PG_PORT = 19092, 55432
# The harness's own ports are below Linux's ephemeral range (32768-60999): a port there can be
# held for a moment by any outgoing connection, and Kafka would fail to bind it.
PRACTICE, LINE, MAILBOX = "demo", "+12125550000", "front@demo.switchboard.test"
TOKEN_RE = r"fz[0-9a-f]{4}x[0-9]{6}"
# One slot per message: the channel mix (SMS the most, as in a practice).
MIX = ("sms", "sms", "sms", "sms", "email", "smtp", "messenger", "messenger", "hl7", "sms")
MESSENGER_PATIENTS = 6
WATCHER = "u-front-1"  # demo/staff.json's front desk


@dataclass
class Config:
    home: Path  # SB_HOME of the harness's Kafka and PostgreSQL, and the run folder
    port_base: int = 25400
    kafka_port: int = 29492
    kafka_controller_port: int = 29493
    pg_port: int = 15492
    # 3: the services run on a three-broker cluster (scripts/kafka-cluster.sh, replication
    # factor 3, min.insync.replicas 2: production's topic settings) instead of one broker,
    # on brokers cluster_port..+2 and controllers +3..+5.
    brokers: int = 1
    cluster_port: int = 29692
    rate: float = 10.0  # messages per second, all channels together
    spec: PlanSpec = field(default_factory=lambda: PlanSpec(load_s=120))
    retries: int = 3  # a refused message is re-sent (same provider id) this many times
    retry_after_s: float = 4.0
    converge_limit_s: float = 600.0
    recover_limit_s: float = 240.0
    keep_infra: bool = False  # leave the harness's Kafka and PostgreSQL running after
    command: str = "make faults"
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])  # names net-cut rules


def log(text: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {text}", flush=True)


def _demo_messages() -> ModuleType:
    """scripts/demo_messages.py (its `watch_unassigned`), loaded by path: scripts/ is not a
    package, and putting it on sys.path would shadow modules named like its files."""
    spec = importlib.util.spec_from_file_location(
        "switchboard_demo_messages", ROOT / "scripts" / "demo_messages.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Infra:
    """The harness's own Kafka and PostgreSQL, through the project's scripts."""

    def __init__(self, cfg: Config) -> None:
        if cfg.kafka_port == SHARED_KAFKA_PORT or cfg.pg_port == SHARED_PG_PORT:
            raise SystemExit("the harness stops its Kafka and PostgreSQL: give it ports of its own")
        if cfg.brokers not in (1, 3):
            raise SystemExit("the harness runs one broker or a cluster of three")
        self.cfg = cfg
        self.cluster = cfg.brokers == 3
        self.env = {
            "SB_HOME": str(cfg.home),
            "SB_CACHE": os.environ.get("SB_CACHE", str(ROOT / ".cache")),
            "KAFKA_PORT": str(cfg.kafka_port),
            "KAFKA_CONTROLLER_PORT": str(cfg.kafka_controller_port),
            "PG_PORT": str(cfg.pg_port),
            "SWITCHBOARD_KAFKA_BOOTSTRAP": f"127.0.0.1:{cfg.kafka_port}",
            # scripts/up.sh's wait for each service; a loaded machine needs more than 90 s
            "SB_READY_TIMEOUT_S": os.environ.get("SB_READY_TIMEOUT_S", "300"),
        }
        if self.cluster:
            brokers = ",".join(f"127.0.0.1:{cfg.cluster_port + i}" for i in range(3))
            self.env |= {
                "KAFKA_BROKERS": "3",  # scripts/up.sh then uses the cluster
                "KAFKA_CLUSTER_PORT": str(cfg.cluster_port),
                "SWITCHBOARD_KAFKA_BOOTSTRAP": brokers,
                "SWITCHBOARD_KAFKA_REPLICATION_FACTOR": "3",
            }

    def kafka_pidfiles(self) -> list[Path]:
        home = self.cfg.home
        if self.cluster:
            return [home / "kafka-cluster" / f"node{n}" / "kafka.pid" for n in (1, 2, 3)]
        return [home / "kafka" / "kafka.pid"]

    def kafka_ports(self) -> list[int]:
        if self.cluster:
            return [self.cfg.cluster_port + i for i in range(6)]
        return [self.cfg.kafka_port]

    @property
    def kafka_script(self) -> str:
        return "kafka-cluster.sh" if self.cluster else "kafka.sh"

    def kafka_running(self) -> bool:
        return any(self.ours(p) for p in self.kafka_pidfiles())

    def script(self, name: str, *args: str) -> None:
        subprocess.run(
            ["bash", str(ROOT / "scripts" / name), *args],
            env=os.environ | self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    async def ascript(self, name: str, *args: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            "bash",
            str(ROOT / "scripts" / name),
            *args,
            env=os.environ | self.env,
            stdout=asyncio.subprocess.DEVNULL,
        )
        if await proc.wait() != 0:
            raise RuntimeError(f"{name} {' '.join(args)} failed")

    def ours(self, pidfile: Path) -> bool:
        """Whether the process of a pid file of this harness's folder is alive."""
        try:
            os.kill(int(pidfile.read_text().split()[0]), 0)
        except (OSError, ValueError, IndexError):
            return False
        return True

    def client_ports(self) -> dict[str, list[int]]:
        """The ports the services connect to, per dependency (a net cut's targets)."""
        brokers = self.kafka_ports()[:3] if self.cluster else [self.cfg.kafka_port]
        return {"kafka": brokers, "postgres": [self.cfg.pg_port]}

    def can_cut_network(self) -> bool:
        """Whether iptables can be used here (root, a kernel with its tables)."""
        if shutil.which("iptables") is None:
            return False
        probe = subprocess.run(["iptables", "-w", "-S", "OUTPUT"], capture_output=True)
        return probe.returncode == 0

    def heal_network(self, run: str | None = None) -> None:
        """Remove the harness's cuts (one run's, or any left by a run that crashed)."""
        if not self.can_cut_network():
            return
        listing = subprocess.run(
            ["iptables", "-w", "-S", "OUTPUT"], capture_output=True, text=True, check=True
        ).stdout
        for rule in netcut.leftovers(listing, run):
            subprocess.run(["iptables", *rule], check=False)

    async def iptables(self, *rules: list[str]) -> None:
        for rule in rules:
            proc = await asyncio.create_subprocess_exec("iptables", *rule)
            if await proc.wait() != 0:
                raise RuntimeError(f"iptables {' '.join(rule)} failed")

    def refuse_taken_ports(self) -> None:
        """Another Kafka or PostgreSQL on our ports would be taken for ours (and used)."""
        home = self.cfg.home
        ours_pg = self.ours(home / "pg" / "data" / "postmaster.pid")
        for port, ours in [
            *((p, self.kafka_running()) for p in self.kafka_ports()),
            (self.cfg.pg_port, ours_pg),
        ]:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                if not ours:
                    raise SystemExit(f"port {port} is taken by another process: choose others")

    def start(self) -> None:
        home = self.cfg.home
        running = self.kafka_running() or self.ours(home / "pg" / "data" / "postmaster.pid")
        if not running and home.exists():
            # Fresh data each run (PostgreSQL keeps the port it was made with in its folder).
            shutil.rmtree(home)
        home.mkdir(parents=True, exist_ok=True)
        self.refuse_taken_ports()
        try:
            self.script(self.kafka_script, "start")
            self.script("postgres.sh", "start")
        except BaseException:
            self.stop()
            raise
        # scripts/up.sh and running_system read these from the environment.
        os.environ.update(self.env)

    def stop(self) -> None:
        if self.cfg.keep_infra:
            return
        home = self.cfg.home
        # A fault's `start` still running when the load ended can bring a broker or the
        # database back after a first stop (a CI run was left with both): stop until down.
        for _ in range(3):
            with contextlib.suppress(subprocess.CalledProcessError):
                self.script(self.kafka_script, "stop")
            with contextlib.suppress(subprocess.CalledProcessError):
                self.script("postgres.sh", "stop")
            time.sleep(2)
            if not self.kafka_running() and not self.ours(home / "pg" / "data" / "postmaster.pid"):
                return
        log("warning: the harness's Kafka or PostgreSQL would not stop")


class Services:
    """The run's services under its supervisord."""

    def __init__(self, run_home: Path, system: System) -> None:
        self.conf = run_home / "supervisord.conf"
        self.system = system
        self.client = httpx.AsyncClient(timeout=5)
        self.manual_starts: list[str] = []  # services supervisord gave up on (FATAL)

    async def ctl(self, *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            str(ROOT / ".venv" / "bin" / "supervisorctl"),
            "-c",
            str(self.conf),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        return out.decode()

    async def pid(self, service: str) -> int:
        text = (await self.ctl("pid", service)).strip()
        return int(text) if text.isdigit() else 0

    async def ready(self, service: str) -> bool:
        try:
            r = await self.client.get(f"{self.system.public_url(service)}/readyz")
        except httpx.HTTPError:
            return False
        return r.status_code == 200

    async def wait_all_ready(self, limit_s: float) -> bool:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            states = await asyncio.gather(*(self.ready(s) for s in SERVICES))
            if all(states):
                return True
            await self.revive()
            await asyncio.sleep(0.5)
        return False

    async def revive(self) -> None:
        """A service supervisord stopped restarting (FATAL after quick failures, e.g. while
        Kafka was down) is started by hand, and counted: an operator would have had to."""
        status = await self.ctl("status")
        for line in status.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[1] == "FATAL" and parts[0] in SERVICES:
                self.manual_starts.append(parts[0])
                log(f"{parts[0]} is FATAL under supervisord: starting it by hand")
                await self.ctl("start", parts[0])

    async def signal(self, service: str, sig: signal.Signals) -> int:
        pid = await self.pid(service)
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        return pid

    async def wait_restarted(self, service: str, old_pid: int, limit_s: float) -> None:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            pid = await self.pid(service)
            if pid and pid != old_pid and await self.ready(service):
                return
            await self.revive()
            await asyncio.sleep(0.3)


class Load:
    """Messages at a set rate through SMS, email (HTTP and SMTP), the messenger and HL7."""

    def __init__(self, cfg: Config, system: System, ledger: Ledger, t0: float) -> None:
        self.cfg = cfg
        self.system = system
        self.ledger = ledger
        self.t0 = t0
        self.run = uuid.uuid4().hex[:4]
        self.seq = 0
        self.http = httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=64))
        self.sessions: list[str] = []  # messenger session tokens
        self.mllp_port = cfg.port_base - 8000 + 2575
        self.smtp_port = cfg.port_base - 8000 + 2525
        self.tasks: set[asyncio.Task[None]] = set()
        self.limit = asyncio.Semaphore(64)

    def token(self) -> str:
        self.seq += 1
        return f"fz{self.run}x{self.seq:06d}"

    def now(self) -> float:
        return time.monotonic() - self.t0

    # -- the channels: each returns how one attempt was answered -------------------------

    async def sms(self, token: str) -> str:
        url = f"{self.system.ingest}/webhooks/twilio/sms/{PRACTICE}"
        sender = f"+1646555{int(token[-6:]) % 50:04d}"
        params = {
            "MessageSid": f"SM{token}",
            "From": sender,
            "To": LINE,
            "Body": f"Synthetic test message {token}",
            "NumMedia": "0",
        }
        sig = signature(self.system.twilio_token, url, params)
        r = await self.http.post(url, data=params, headers={"X-Twilio-Signature": sig})
        return classify_http(r.status_code)

    def email(self, token: str) -> bytes:
        m = EmailMessage()
        n = int(token[-6:]) % 50
        m["From"] = f"Test Patient {n} <patient{n}@example.org>"
        m["To"] = MAILBOX
        m["Subject"] = "Synthetic test"
        m["Message-ID"] = f"<{token}@faults.example.org>"
        m.set_content(f"Synthetic test message {token}")
        return bytes(m)

    async def email_http(self, token: str) -> str:
        raw = self.email(token)
        headers = {"content-type": "message/rfc822"} | signed_headers(
            self.system.email_webhook_secret, int(time.time()), raw
        )
        url = f"{self.system.ingest}/webhooks/email"
        r = await self.http.post(url, content=raw, headers=headers)
        return classify_http(r.status_code)

    async def smtp(self, token: str) -> str:
        raw = self.email(token)

        def send() -> str:
            try:
                with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as s:
                    s.sendmail("patient@example.org", [MAILBOX], raw)
            except smtplib.SMTPResponseException as exc:
                return f"smtp_{exc.smtp_code}"
            except smtplib.SMTPRecipientsRefused as exc:
                codes = {c for c, _ in exc.recipients.values()}
                return f"smtp_{min(codes)}"
            return OK

        return await asyncio.to_thread(send)

    async def messenger(self, token: str) -> str:
        session = self.sessions[int(token[-6:]) % len(self.sessions)]
        r = await self.http.post(
            f"{self.system.ingest}/patient/{PRACTICE}/messages",
            json={"client_message_id": token, "body": f"Synthetic test message {token}"},
            headers={"Authorization": f"Bearer {session}"},
        )
        return classify_http(r.status_code)

    async def hl7(self, token: str) -> str:
        async with MLLPClient("127.0.0.1", self.mllp_port, timeout_s=10) as client:
            ack = await client.send(adt_a04(token, f"fzp-{token}", phone_of(token)))
        code = ack_code(ack)
        return OK if code == "AA" else f"nack_{code or 'none'}"

    # -- sending -------------------------------------------------------------------------

    async def attempt(self, channel: str, token: str) -> bool:
        send: Callable[[str], Awaitable[str]] = {
            "sms": self.sms,
            "email": self.email_http,
            "smtp": self.smtp,
            "messenger": self.messenger,
            "hl7": self.hl7,
        }[channel]
        started = self.now()
        try:
            answer = await asyncio.wait_for(send(token), 15)
        except (httpx.ConnectError, ConnectionError, smtplib.SMTPServerDisconnected):
            answer = "refused"
        except (TimeoutError, httpx.TimeoutException):
            answer = "timeout"
        except (httpx.HTTPError, OSError, smtplib.SMTPException):
            answer = "error"
        self.ledger.record(Attempt(channel, token, started, answer))
        return answer == OK

    async def message(self, channel: str) -> None:
        token = self.token()
        async with self.limit:
            for n in range(1 + self.cfg.retries):
                if n:
                    await asyncio.sleep(self.cfg.retry_after_s * n)
                if await self.attempt(channel, token):
                    return

    async def run_until(self, seconds: float, faults: asyncio.Task[None], after_s: float) -> None:
        """At least `seconds`, and on for `after_s` after the last fault's recovery (a slow
        recovery must not leave the later faults without load)."""
        interval = 1.0 / self.cfg.rate
        start = time.monotonic()
        n = 0
        faults_done_at: float | None = None

        def going() -> bool:
            nonlocal faults_done_at
            now = time.monotonic()
            if faults.done() and faults_done_at is None:
                faults_done_at = now
            if now - start < seconds:
                return True
            return faults_done_at is None or now - faults_done_at < after_s

        while going():
            task = asyncio.create_task(self.message(MIX[n % len(MIX)]))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            n += 1
            await asyncio.sleep(max(0.0, start + n * interval - time.monotonic()))
        if self.tasks:
            await asyncio.gather(*self.tasks)

    async def sign_in_messenger(self, db: ReadModels, limit_s: float) -> None:
        """Register a few synthetic patients over HL7, then sign each in on the messenger."""
        patients = [
            (f"fzm{self.run}{i}", f"+1917555{self.run_digits()}{i:02d}")
            for i in range(MESSENGER_PATIENTS)
        ]
        async with MLLPClient("127.0.0.1", self.mllp_port, timeout_s=30) as client:
            for pid, phone in patients:
                ack = await client.send(adt_a04(f"{pid}c", pid, phone))
                if ack_code(ack) != "AA":
                    raise RuntimeError("pm-sync did not accept the messenger patients")
        deadline = time.monotonic() + limit_s
        while await db.patients_known([p for p, _ in patients]) < len(patients):
            if time.monotonic() > deadline:
                raise RuntimeError("pm-sync did not apply the messenger patients in time")
            await asyncio.sleep(1)
        for pid, phone in patients:
            while True:
                r = await self.http.post(
                    f"{self.system.ingest}/patient/{PRACTICE}/sessions",
                    json={
                        "given_name": "Test",
                        "family_name": pid.capitalize(),
                        "birth_date": "1970-01-01",
                        "phone": phone,
                    },
                )
                if r.status_code == 201:
                    self.sessions.append(r.json()["token"])
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"messenger sign-in answered {r.status_code}")
                await asyncio.sleep(10)  # each failure counts towards the attempt limit

    def run_digits(self) -> str:
        return f"{int(self.run, 16) % 100:02d}"


async def register_reply_patients(load: Load) -> None:
    """The numbers staff reply to (replies.PATIENT_PHONES) as patients, over MLLP."""
    async with MLLPClient("127.0.0.1", load.mllp_port, timeout_s=30) as client:
        for n, phone in enumerate(PATIENT_PHONES):
            control = f"fzr{load.run}{n}"
            ack = await client.send(adt_a04(control, f"fzr-{load.run}-{n}", phone))
            if ack_code(ack) != "AA":
                raise RuntimeError(f"registering reply patient {n} answered {ack_code(ack)}")


def phone_of(token: str) -> str:
    return f"+1347555{int(token[-6:]) % 10000:04d}"


def adt_a04(control: str, patient_id: str, phone: str) -> str:
    """A registration of a synthetic patient (name = the id, born 1970-01-01)."""
    local = phone[2:]
    segments = [
        f"MSH|^~\\&|FAULTS|DEMO|SWITCHBOARD|SWITCHBOARD|20260101120000||ADT^A04^ADT_A01|{control}|P|2.5.1",
        "EVN|A04|20260101120000",
        f"PID|1||{patient_id}^^^DEMO^MR||{patient_id.capitalize()}^Test^^^^^L||19700101|U|||||"
        f"({local[:3]}){local[3:6]}-{local[6:]}^PRN^PH^^1^{local[:3]}^{local[3:]}",
        "PV1|1|O|loc-main",
    ]
    return "\r".join(segments) + "\r"


class ReadModels:
    """Counts per token in the read models, straight from the run's own database."""

    def __init__(self, database: str, pg_port: int) -> None:
        self.url = f"postgresql://switchboard@127.0.0.1:{pg_port}/{database}"

    async def query(self, sql: str, *params: object) -> list[tuple]:
        def run() -> list[tuple]:
            with psycopg.connect(self.url, connect_timeout=5) as conn:
                return list(conn.execute(sql, params).fetchall())  # type: ignore[arg-type]

        return await asyncio.to_thread(run)

    async def active_inbox(self) -> str:
        rows = await self.query("SELECT schema_name FROM inbox.generations WHERE active")
        schema = str(rows[0][0]) if rows else "inbox"
        if not re.fullmatch(r"inbox(_r\d+)?", schema):
            raise RuntimeError("unexpected inbox generation name")
        return schema

    async def inbox_counts(self) -> dict[str, int]:
        schema = await self.active_inbox()
        rows = await self.query(
            f"SELECT substring(body from %s), count(*) FROM {schema}.messages "
            "WHERE direction = 'inbound' AND body ~ %s GROUP BY 1",
            TOKEN_RE,
            TOKEN_RE,
        )
        return {str(t): int(n) for t, n in rows}

    async def hl7_counts(self) -> dict[str, int]:
        """Each HL7 registration applied: its patient in pm-sync's read model and in the
        inbox's (a token counts once per read model that holds it: 2 = in both)."""
        schema = await self.active_inbox()
        counts: dict[str, int] = {}
        for table in ("pm_sync.patients", f"{schema}.patients"):
            rows = await self.query(
                f"SELECT patient_id, count(*) FROM {table} "
                "WHERE patient_id LIKE 'fzp-%%' GROUP BY 1"
            )
            for pid, n in rows:
                counts[str(pid)[4:]] = counts.get(str(pid)[4:], 0) + int(n)
        return counts

    async def patients_known(self, ids: list[str]) -> int:
        rows = await self.query(
            "SELECT count(*) FROM pm_sync.contacts WHERE patient_id = ANY(%s)", ids
        )
        return int(rows[0][0])


def front_line(system: System, staff_id: str) -> None:
    r = httpx.put(
        f"{system.gateway}/api/notify/practice-settings",
        json={"front_line_staff_ids": [staff_id], "coalesce_seconds": 0},
        headers=system.login("admin@demo", "demo-admin"),
        timeout=30,
    )
    if r.status_code != 202:
        raise RuntimeError(f"practice notification settings answered {r.status_code}")


@dataclass(frozen=True, slots=True)
class AlertCounts:
    sent: int
    duplicated: int  # (recipient, channel, message) with more than one distinct alert
    orphans: int
    orphans_duplicated: int


async def alert_counts(system: System) -> AlertCounts:
    """The alerts on the notifications topic, counted per recipient, channel and message:
    the notifier reports every alert it sent (in-app here: make up configures no email or
    SMS); two different alerts for one message and recipient would be a duplicate. The same
    alert reported twice (a re-published AlertSent) is one send."""
    consumer = AIOKafkaConsumer(
        f"{system.topic_prefix}switchboard.notifications",
        bootstrap_servers=system.kafka,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    sent: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    orphans: dict[str, set[str]] = defaultdict(set)
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=3000)
            if not any(batch.values()):
                break
            for records in batch.values():
                for r in records:
                    with contextlib.suppress(ValueError, TypeError):
                        v = json.loads(r.value or b"")
                        kind, message = v.get("event_type"), str(v.get("message_id"))
                        if kind == "AlertSent":
                            key = (str(v.get("staff_id")), str(v.get("channel")), message)
                            sent[key].add(str(v.get("alert_id")))
                        elif kind == "OrphanAlertRaised":
                            orphans[message].add(str(v.get("event_id")))
    finally:
        await consumer.stop()
    return AlertCounts(
        sent=sum(len(ids) for ids in sent.values()),
        duplicated=sum(1 for ids in sent.values() if len(ids) > 1),
        orphans=sum(len(ids) for ids in orphans.values()),
        orphans_duplicated=sum(1 for ids in orphans.values() if len(ids) > 1),
    )


class Injector:
    def __init__(self, cfg: Config, infra: Infra, services: Services, t0: float) -> None:
        self.cfg = cfg
        self.infra = infra
        self.services = services
        self.t0 = t0
        self.windows: list[Window] = []
        self.done: list[str] = []
        self.unrecovered: list[str] = []  # faults after which a service stayed unready

    def now(self) -> float:
        return time.monotonic() - self.t0

    async def run(self, faults: list[Fault]) -> None:
        for f in faults:
            await asyncio.sleep(max(0.0, f.at_s - self.now()))
            start = self.now()
            log(f"fault: {f.label}")
            await self.inject(f)
            recovered = await self.services.wait_all_ready(self.cfg.recover_limit_s)
            if not recovered:
                self.unrecovered.append(f.label)
                log(f"NOT recovered within {self.cfg.recover_limit_s:.0f} s after {f.label}")
            self.windows.append(Window(f.label, start, self.now()))
            self.done.append(f.label)
            log(f"recovered from {f.label} in {self.now() - start:.1f} s")

    async def inject(self, f: Fault) -> None:
        limit = self.cfg.recover_limit_s
        if f.kind == "kill9":
            targets = SERVICES if f.target == "all" else (f.target,)
            olds = [await self.services.signal(s, signal.SIGKILL) for s in targets]
            await asyncio.gather(
                *(
                    self.services.wait_restarted(s, o, limit)
                    for s, o in zip(targets, olds, strict=True)
                )
            )
        elif f.kind == "sigterm_rolling":
            for s in SERVICES:
                old = await self.services.signal(s, signal.SIGTERM)
                await self.services.wait_restarted(s, old, limit)
        elif f.kind == "kafka_stop":  # on a cluster: all three brokers
            await self.infra.ascript(self.infra.kafka_script, "stop")
            await asyncio.sleep(f.outage_s)
            await self.infra.ascript(self.infra.kafka_script, "start")
        elif f.kind == "cluster_broker" and self.infra.cluster:
            # kill -9 of one broker: its partitions' leaders move to the other two, which
            # still make min.insync.replicas 2, so acks=all writes go on.
            node = f.target.removeprefix("broker-")
            await self.infra.ascript("kafka-cluster.sh", "kill", node)
            await asyncio.sleep(f.outage_s)
            await self.infra.ascript("kafka-cluster.sh", "start-node", node)
        elif f.kind == "pg_restart":
            await self.infra.ascript("postgres.sh", "stop")
            await asyncio.sleep(f.outage_s)
            await self.infra.ascript("postgres.sh", "start")
        elif f.kind == "net_cut":
            # Packets dropped, processes up: connections hang instead of being refused.
            rules = netcut.cut_rules(self.infra.client_ports()[f.target], self.cfg.run_id)
            await self.infra.iptables(*rules)
            try:
                await asyncio.sleep(f.outage_s)
            finally:
                await self.infra.iptables(*(netcut.undo(r) for r in rules))
        else:
            raise ValueError(f"fault {f.kind} is not available in this deployment")


async def converge(
    ledger: Ledger, db: ReadModels, groups: dict[str, set[str]], limit_s: float
) -> tuple[float | None, dict[str, dict[str, int]]]:
    """Until every acknowledged message is seen; the seconds it took (None: not within
    `limit_s`) and the last counts."""
    start = time.monotonic()
    while True:
        counts = {"inbox": await db.inbox_counts(), "hl7": await db.hl7_counts()}
        need = {"inbox": 1, "hl7": 2}
        short = sum(
            1
            for name, tokens in groups.items()
            for t in ledger.acknowledged & tokens
            if counts[name].get(t, 0) < need[name]
        )
        if short == 0:
            return time.monotonic() - start, counts
        if time.monotonic() - start > limit_s:
            log(f"{short} acknowledged messages still not visible after {limit_s:.0f} s")
            return None, counts
        await asyncio.sleep(2)


async def rebuild_differs(system: System, pg_port: int) -> list[str]:
    """Rebuild the inbox read models from the log into a new generation (not switched) and
    compare it with the live one, table by table (the rebuild's own checksums): the tables
    that differ."""
    from switchboard.inbox_projection.rebuild import checksums
    from switchboard.platform.db import make_engine

    url = f"postgresql+psycopg://switchboard@127.0.0.1:{pg_port}/{system.database}"
    env = os.environ | {
        "SWITCHBOARD_ENV": "dev",
        "SWITCHBOARD_DATABASE_URL": url,
        "SWITCHBOARD_KAFKA_BOOTSTRAP": system.kafka,
        "SWITCHBOARD_TOPIC_PREFIX": system.topic_prefix,
    }
    proc = await asyncio.create_subprocess_exec(
        str(ROOT / ".venv" / "bin" / "switchboard-inbox-projection"),
        "rebuild",
        "--no-switch",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    if await proc.wait() != 0:
        raise RuntimeError("switchboard-inbox-projection rebuild failed")
    db = ReadModels(system.database, pg_port)
    live = await db.active_inbox()
    rows = await db.query(
        "SELECT schema_name FROM inbox.generations WHERE NOT active "
        "ORDER BY created_at DESC LIMIT 1"
    )
    engine = make_engine(url)
    try:
        a, b = await checksums(engine, live), await checksums(engine, str(rows[0][0]))
    finally:
        await engine.dispose()
    differ = [table for table in a if a[table] != b.get(table)]
    for table in differ:
        log(f"rebuild differs in {table}: live {a[table][0]} rows, rebuilt {b[table][0]}")
    return differ


async def drive(cfg: Config, system: System, infra: Infra) -> RunFigures:
    run_home = cfg.home / "run"
    ledger = Ledger()
    services = Services(run_home, system)
    db = ReadModels(system.database, cfg.pg_port)
    t0 = time.monotonic()
    load = Load(cfg, system, ledger, t0)
    # A staff member watches Unassigned (as the demo does) and is the practice's front line
    # with no coalescing: every message alerts them (in-app), each one its own alert.
    await asyncio.to_thread(_demo_messages().watch_unassigned, system.gateway, WATCHER)
    await asyncio.to_thread(front_line, system, WATCHER)
    log("messenger: registering and signing in synthetic patients")
    await load.sign_in_messenger(db, cfg.recover_limit_s)
    log(f"replies: registering {len(PATIENT_PHONES)} of the SMS numbers as patients")
    await register_reply_patients(load)
    staff = await asyncio.to_thread(system.login, "admin@demo", "demo-admin")
    replier = Replier(system.gateway, lambda: staff, load.run)
    faults = schedule(cfg.spec)
    skipped = [f for f in faults if f.kind == "net_cut" and not infra.can_cut_network()]
    if skipped:
        log(f"network cuts skipped ({len(skipped)}): iptables is not usable here")
        faults = [f for f in faults if f not in skipped]
    log(f"load: {cfg.rate:g}/s for {cfg.spec.load_s:.0f} s, {len(faults)} faults planned")
    load.t0 = t0 = time.monotonic()
    injector = Injector(cfg, infra, services, t0)
    inject = asyncio.create_task(injector.run(faults))
    replier.t0 = t0
    loading = True
    replying = asyncio.create_task(replier.run_while(lambda: loading))
    await load.run_until(cfg.spec.load_s, inject, cfg.spec.cooldown_s)
    await inject
    loading = False
    await replying
    await replier.close()
    load_s = time.monotonic() - t0
    log(f"load done: {len(ledger.sent)} messages, {len(ledger.acknowledged)} acknowledged")
    groups = {
        "inbox": {t for t, c in ledger.channels.items() if c != "hl7"},
        "hl7": {t for t, c in ledger.channels.items() if c == "hl7"},
    }
    seconds, _ = await converge(ledger, db, groups, cfg.converge_limit_s)
    await converge_replies(replier.ledger, system.sandbox, cfg.converge_limit_s)
    await asyncio.sleep(5)  # a late duplicate would show up now
    replies = await converge_replies(replier.ledger, system.sandbox, 0)
    inbox, hl7 = await db.inbox_counts(), await db.hl7_counts()
    # HL7: applied = in both read models (pm-sync's and the inbox's): 2 per patient.
    hl7_seen = {t: (1 if n == 2 else (0 if n < 2 else n - 1)) for t, n in hl7.items()}
    checks = {
        "inbox: SMS, email (HTTP, SMTP), messenger": verdict(ledger, inbox, groups["inbox"]),
        "HL7 ADT^A04 answered AA (pm-sync and inbox patients)": verdict(
            ledger, hl7_seen, groups["hl7"]
        ),
    }
    for ch in ("sms", "email", "smtp", "messenger"):
        tokens = {t for t, c in ledger.channels.items() if c == ch}
        checks[f"  of which {ch}"] = verdict(ledger, inbox, tokens)
    # sent = replies attempted, acknowledged = answered 2xx, seen = SMS at the sandbox
    checks["staff SMS replies (counted at the carrier sandbox)"] = verdict(replier.ledger, replies)
    log("rebuilding the inbox read models from the log to compare")
    differ = await rebuild_differs(system, cfg.pg_port)
    alerts = await alert_counts(system)
    retried = sum(1 for t in ledger.sent if sum(a.token == t for a in ledger.attempts) > 1)
    other = {
        "messages re-sent after a refusal (same provider id)": str(retried),
        "services started by hand (supervisord gave up)": str(len(services.manual_starts)),
        "network cuts skipped (iptables not usable)": str(len(skipped)),
        f"faults after which a service stayed unready for {cfg.recover_limit_s:.0f} s": (
            ", ".join(injector.unrecovered) or "none"
        ),
        "inbox tables differing from the rebuild": ", ".join(differ) or "none",
        "alerts sent (AlertSent, in-app to the front-line staff member)": str(alerts.sent),
        "orphan alerts raised (messages no one was there to be alerted of)": str(alerts.orphans),
        "alerts sent twice to the same recipient for the same message": str(alerts.duplicated),
        "orphan alerts (no one to alert) raised twice for the same message": str(
            alerts.orphans_duplicated
        ),
    }
    return RunFigures(
        command=cfg.command,
        load_s=load_s,
        rate=cfg.rate,
        faults=injector.done,
        checks=checks,
        availability=availability(ledger.attempts, injector.windows),
        convergence_s=seconds,
        rebuild_equal=not differ,
        other=other,
    )


def left_running(marker: str, proc: Path = Path("/proc")) -> list[str]:
    """Processes still running with `marker` (NAME=value) in their environment: after the
    run's services and infrastructure stopped, the run's own that nothing stopped (a child
    a killed service left behind). Each as "<pid> <command>", the command cut short."""
    found = []
    me = str(os.getpid())
    for d in proc.iterdir():
        if not d.name.isdigit() or d.name == me:
            continue
        try:
            if marker.encode() not in (d / "environ").read_bytes().split(b"\0"):
                continue
            command = (d / "cmdline").read_bytes().replace(b"\0", b" ").strip()
            state = (d / "stat").read_text().rsplit(") ", 1)[1][:1]
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if state != "Z":  # a zombie has ended; only its parent has not reaped it yet
            found.append(f"{d.name} {command.decode(errors='replace')[:60]}")
    return found


def run(cfg: Config) -> RunFigures:
    """Start the harness's infrastructure and system, drive it, stop everything."""
    run_home = cfg.home / "run"
    if run_home.exists():
        shutil.rmtree(run_home)  # a fresh run folder: new secrets, no old supervisord
    infra = Infra(cfg)
    kafka = f"{cfg.cluster_port}-{cfg.cluster_port + 2}" if cfg.brokers == 3 else cfg.kafka_port
    log(f"own Kafka ({cfg.brokers} broker(s)) :{kafka} and PostgreSQL :{cfg.pg_port} in {cfg.home}")
    environ = dict(os.environ)  # infra.start points the environment at the harness's infra
    infra.heal_network()  # a crashed run's cuts would cut this run from the start
    infra.start()
    try:
        log(f"system: scripts/up.sh on port base {cfg.port_base}")
        with running_system(run_home, cfg.port_base, demo=False) as system:
            figures = asyncio.run(drive(cfg, system, infra))
    finally:
        infra.heal_network(cfg.run_id)
        infra.stop()
        # Tests after this one (same process) must see the shared Kafka/PostgreSQL again.
        os.environ.clear()
        os.environ.update(environ)
    time.sleep(2)  # a child that watches its parent notices within a second
    left = left_running(f"SWITCHBOARD_TOPIC_PREFIX={system.topic_prefix}")
    figures.other["processes of the run left running after it stopped"] = "; ".join(left) or "none"
    return figures
