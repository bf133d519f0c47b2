"""Readiness follows a dependency back up (issue 21): each service, run as a real process on a
database of its own, answers unready while that database refuses connections, and ready
again promptly once it accepts them, not when a failed loop's backoff happens to end.

The backoffs are set long (30 s at first, up to 10 min) so a check that reports a loop's
stale failure stays unready well past the wait here; before the fix pm-sync's FHIR poller
(and ingest's dispatcher, notifier's timers and dispatcher) did exactly that.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_process import ADMIN_URL, PG_PORT, ServiceProcess, database_connections, free_port
from service_process import migrate as migrate_service
from sqlalchemy import create_engine, text

from switchboard.platform.internal_api import dev_credentials
from switchboard.platform.kafka import ensure_topics
from switchboard.platform.settings import ServiceSettings

pytestmark = pytest.mark.integration

KAFKA = os.environ.get("SWITCHBOARD_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
# Generous, and far below the 30 s a stale failure would last: not a timing measurement.
RECOVERY_WAIT_S = 20
DEPENDS_ON_DB = ("pm-sync", "ingest", "notifier", "router", "inbox-projection", "gateway")


@pytest.fixture
def own_database(infra) -> Iterator[str]:
    name = f"sb_ready_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        database_connections(name, allow=True)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def fhir_server() -> Iterator[tuple[str, str]]:
    """The demo practice's FHIR server (pm-sync's poller reads it)."""
    port, token = free_port(), uuid.uuid4().hex
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "switchboard_demo.fhir_server",
            "--port",
            str(port),
            "--token",
            token,
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}/fhir", token
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("service", DEPENDS_ON_DB)
def test_readiness_recovers_when_its_database_is_back(
    service: str, own_database: str, fhir_server: tuple[str, str], tmp_path: Path
) -> None:
    prefix = f"rdy{uuid.uuid4().hex[:6]}."
    asyncio.run(ensure_topics(ServiceSettings(kafka_bootstrap=KAFKA, topic_prefix=prefix)))
    fhir_url, fhir_token = fhir_server
    env = {
        **os.environ,
        "SWITCHBOARD_ENV": "dev",
        "SWITCHBOARD_KAFKA_BOOTSTRAP": KAFKA,
        "SWITCHBOARD_DATABASE_URL": (
            f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/{own_database}"
        ),
        "SWITCHBOARD_TOPIC_PREFIX": prefix,
        "SWITCHBOARD_LOG_LEVEL": "INFO",
        "SWITCHBOARD_CONSUMER_BACKOFF_INITIAL_S": "30",
        "SWITCHBOARD_CONSUMER_BACKOFF_MAX_S": "600",
        "SWITCHBOARD_FHIR_BACKOFF_INITIAL_S": "30",
        "SWITCHBOARD_FHIR_BACKOFF_MAX_S": "600",
        # polled every second: the poller meets the outage at once
        "SWITCHBOARD_FHIR_PRACTICES": json.dumps(
            [{"practice_id": "demo", "base_url": fhir_url, "token": fhir_token, "interval_s": 1}]
        ),
        **dev_credentials().get(service, {}),
    }
    migrate_service(service, env)
    proc = ServiceProcess(service, env, tmp_path / f"{service}.log")
    proc.start()
    try:
        proc.wait_ready(True)
        database_connections(own_database, allow=False)
        down = proc.wait_ready(False, timeout_s=60)
        assert down["checks"]["database"] is False
        # Long enough for every background loop of the service to meet the outage (the
        # poller each second, dispatchers and timers each poll) and start backing off.
        asyncio.run(asyncio.sleep(4))
        database_connections(own_database, allow=True)
        body = proc.wait_ready(True, timeout_s=RECOVERY_WAIT_S)
        assert all(body["checks"].values()), body
    finally:
        proc.kill()
