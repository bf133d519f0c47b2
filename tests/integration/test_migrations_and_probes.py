"""Migrations at run time and the probes, against the real Kafka and PostgreSQL:
`migrate` takes an advisory lock (concurrent runs take turns), `run` never migrates and
/readyz names the schema revision, /healthz fails when a consumer loop is stuck, and the
gateway stays ready for reads while Kafka is unreachable (writes answer 503)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from sqlalchemy import MetaData, create_engine, text
from starlette.testclient import TestClient

from switchboard.events import Event, Topic
from switchboard.gateway.app import MIGRATIONS as GATEWAY_MIGRATIONS
from switchboard.gateway.app import build_app as build_gateway
from switchboard.gateway.auth import Principal, issue_token
from switchboard.gateway.settings import GatewaySettings
from switchboard.inbox_projection.app import MIGRATIONS as INBOX_MIGRATIONS
from switchboard.platform.db import processed_events_table
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer
from switchboard.platform.migrations import Migrations, lock_key, upgrade
from switchboard.platform.service import consumer_for, service_app
from switchboard.router.app import MIGRATIONS as ROUTER_MIGRATIONS
from switchboard.router.app import build_app as build_router

pytestmark = pytest.mark.integration

PG_PORT = int(os.environ.get("PG_PORT", "55432"))
ADMIN_URL = f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/postgres"
ROUTER = Migrations(ROUTER_MIGRATIONS, "router")
BIN = Path(sys.executable).parent
SECRET = "test-secret-for-probes-0123456789abcdef"


@pytest.fixture
def fresh_db(infra) -> Iterator[str]:
    """A database of this test's own: nothing migrated."""
    name = f"sb_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def revision(url: str, schema: str = "router") -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            table = f'"{schema}".alembic_version'
            if conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is None:
                return None
            return conn.execute(text(f"SELECT version_num FROM {table}")).scalar()
    finally:
        engine.dispose()


def service_env(url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "SWITCHBOARD_ENV": "dev",
        "SWITCHBOARD_DATABASE_URL": url,
        "SWITCHBOARD_LOG_LEVEL": "INFO",
        **extra,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_migrate_commands_at_once_both_succeed_and_the_schema_is_at_head(fresh_db):
    env = service_env(fresh_db)
    runs = [
        subprocess.Popen(
            [BIN / "switchboard-router", "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [r.communicate(timeout=120)[0] for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    assert revision(fresh_db) == ROUTER.expected()


def test_migrate_waits_for_the_advisory_lock_and_then_migrates(fresh_db):
    holder = create_engine(fresh_db)
    with holder.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key("router")})
        conn.commit()
        run = subprocess.Popen(
            [BIN / "switchboard-router", "migrate"],
            env=service_env(fresh_db),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert run.stdout is not None
        seen = []
        for line in run.stdout:  # it says it waits, then waits (no timing assumed)
            seen.append(line)
            if "migration_lock_wait" in line:
                break
        assert any("migration_lock_wait" in line for line in seen), seen
        assert run.poll() is None, "migrate went on while another held the lock"
        assert revision(fresh_db) is None
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key("router")})
        conn.commit()
    holder.dispose()
    rest = run.communicate(timeout=120)[0]
    assert run.returncode == 0, rest
    assert revision(fresh_db) == ROUTER.expected()


def test_run_does_not_migrate_and_readyz_says_which_revision_it_waits_for(fresh_db, settings):
    port = free_port()
    env = service_env(
        fresh_db,
        SWITCHBOARD_HTTP_PORT=str(port),
        SWITCHBOARD_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        SWITCHBOARD_TOPIC_PREFIX=f"mig{uuid.uuid4().hex[:6]}.",
    )
    asyncio.run(
        ensure_topics(settings.model_copy(update={"topic_prefix": env["SWITCHBOARD_TOPIC_PREFIX"]}))
    )
    proc = subprocess.Popen([BIN / "switchboard-router", "run"], env=env)
    url = f"http://127.0.0.1:{port}"
    expected = ROUTER.expected()
    try:

        def readyz_reason() -> str | None:
            deadline = time.monotonic() + 180  # a loaded CI machine starts Python slowly
            while time.monotonic() < deadline:
                assert proc.poll() is None, f"router exited with {proc.returncode}"
                try:
                    body = httpx.get(f"{url}/readyz", timeout=2).json()
                except httpx.HTTPError:
                    time.sleep(0.2)
                    continue
                if body["status"] == "ready" or "schema" in body.get("reasons", {}):
                    return body.get("reasons", {}).get("schema")
                time.sleep(0.2)
            raise AssertionError("no readiness answer about the schema")

        assert readyz_reason() == f"schema not migrated, expected {expected}"
        assert httpx.get(f"{url}/healthz", timeout=2).status_code == 200  # alive, not ready
        assert revision(fresh_db) is None  # run did not migrate

        upgrade(ROUTER_MIGRATIONS, fresh_db, "0001_router")
        assert readyz_reason() == f"schema at 0001_router, expected {expected}"

        done = subprocess.run(
            [BIN / "switchboard-router", "migrate"], env=env, capture_output=True, timeout=120
        )
        assert done.returncode == 0, done.stdout
        deadline = time.monotonic() + 120
        while httpx.get(f"{url}/readyz", timeout=2).status_code != 200:
            assert time.monotonic() < deadline, httpx.get(f"{url}/readyz").json()
            time.sleep(0.2)
        assert httpx.get(f"{url}/readyz", timeout=2).json()["checks"]["schema"] is True
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_a_consumer_stuck_in_its_handler_fails_liveness_with_its_name(settings):
    """A handler that never returns: the loop holds its partitions and stops polling."""
    cfg = settings.model_copy(
        update={"topic_prefix": f"stall{uuid.uuid4().hex[:6]}.", "consumer_stall_s": 1.0}
    )
    asyncio.run(ensure_topics(cfg))
    entered = asyncio.Event()
    release = asyncio.Event()

    async def blocking(session, events: Sequence[Event]) -> list[Event]:
        entered.set()
        await release.wait()
        return []

    meta = MetaData(schema="stalltest")
    processed = processed_events_table(meta)
    engine = create_engine(cfg.database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS stalltest"))
        meta.create_all(conn)
    engine.dispose()
    app = service_app(
        cfg, consumers=consumer_for("stuck-projector", [Topic.PM], blocking, processed)
    )
    with TestClient(app) as client:
        deadline = time.monotonic() + 60
        while client.get("/readyz").json()["checks"].get("consumers") is not True:
            assert time.monotonic() < deadline, client.get("/readyz").json()
            time.sleep(0.2)
        assert client.get("/healthz").status_code == 200  # idle and polling: alive

        from test_consumer_policy import location  # one event is enough to block

        async def send() -> None:
            producer = make_producer(cfg)
            await producer.start()
            try:
                await Publisher(producer, cfg).publish([location("stuck")])
            finally:
                await producer.stop()

        asyncio.run(send())
        deadline = time.monotonic() + 60
        while (health := client.get("/healthz")).status_code == 200:
            assert time.monotonic() < deadline, "liveness never noticed the stuck consumer"
            time.sleep(0.2)
        assert health.status_code == 503
        assert health.json()["stuck"] == ["stuck-projector"]
        client.portal.call(release.set)  # let the lifespan shut down


def refused_address() -> str:
    """A local port nothing listens on: connections are refused at once."""
    return f"127.0.0.1:{free_port()}"


def test_gateway_reads_stay_up_while_kafka_is_unreachable_and_writes_answer_503(settings):
    upgrade(GATEWAY_MIGRATIONS, settings.database_url)
    upgrade(INBOX_MIGRATIONS, settings.database_url)
    gw = GatewaySettings(
        service_name="gateway",
        kafka_bootstrap=refused_address(),
        database_url=settings.database_url,
        topic_prefix=f"nokafka{uuid.uuid4().hex[:6]}.",
        jwt_secret=SECRET,
    )
    staff = issue_token(Principal("u-probe", "demo", "staff", frozenset()), SECRET, 3600)
    admin = issue_token(Principal("a-probe", "demo", "practice_admin", frozenset()), SECRET, 3600)
    with TestClient(build_gateway(gw)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.json()
        body = ready.json()
        assert body["checks"]["kafka"] is False and body["checks"]["database"] is True
        assert body["reasons"]["kafka"] == "Kafka unreachable"

        read = client.get("/api/inboxes", headers={"Authorization": f"Bearer {staff}"})
        assert read.status_code == 200, read.text

        write = client.put(
            "/api/admin/routing/auto-assign/unassigned",
            json={"policy": "round_robin"},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert write.status_code == 503, write.text
        assert "Kafka unreachable" in write.json()["detail"]


def test_a_consumer_service_is_alive_but_not_ready_while_kafka_is_unreachable(settings):
    upgrade(ROUTER_MIGRATIONS, settings.database_url)
    cfg = settings.model_copy(update={"kafka_bootstrap": refused_address()})
    with TestClient(build_router(cfg)) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["reasons"]["kafka"] == "Kafka unreachable"
