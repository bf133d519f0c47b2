"""Fixtures for tests that use the real Kafka and PostgreSQL started by scripts/test.sh."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from switchboard.platform.settings import ServiceSettings

# Property tests judge behaviour, not speed: on a loaded 2-core machine generation and runs
# are slow, which Hypothesis would otherwise report as failures.
hypothesis_settings.register_profile(
    "switchboard", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("switchboard")

PG_PORT = int(os.environ.get("PG_PORT", "55432"))
KAFKA = os.environ.get("SWITCHBOARD_KAFKA_BOOTSTRAP", "127.0.0.1:19092")


def _reachable(host_port: str) -> bool:
    host, port = host_port.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def infra() -> None:
    missing = [
        n
        for n, hp in [("Kafka", KAFKA), ("PostgreSQL", f"127.0.0.1:{PG_PORT}")]
        if not _reachable(hp)
    ]
    if missing:
        pytest.fail(f"{', '.join(missing)} not running: use `make test` (it starts them)")


def _fresh_database(prefix: str) -> Iterator[str]:
    """A new database, dropped when the caller is done with it."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def test_db(infra) -> Iterator[str]:
    """A fresh database for this test session; dropped at the end."""
    yield from _fresh_database("sb_test")


@pytest.fixture(scope="module")
def own_db(infra) -> Iterator[str]:
    """A database of the test module's own: modules that run the inbox projection compare
    its tables with a rebuild, so another module's rows must not be there."""
    yield from _fresh_database("sb_mod")


@pytest.fixture(scope="session")
def settings(test_db) -> ServiceSettings:
    """Unique topic prefix per session: tests never see each other's records."""
    return ServiceSettings(
        service_name="test",
        kafka_bootstrap=KAFKA,
        database_url=test_db,
        topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
        consumer_backoff_initial_s=0.01,
        consumer_backoff_max_s=0.05,
        consumer_max_attempts=3,
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> Iterator[None]:
    """Tests run in random order (pytest-randomly), except the browser tests: they share one
    demo system and each module is written as a story in file order (known gap: make them
    independent). Runs after pytest-randomly's shuffle (an outer wrapper)."""
    yield
    slots = [i for i, item in enumerate(items) if "/tests/browser/" in str(item.path)]
    story = sorted((items[i] for i in slots), key=lambda it: (str(it.path), it.location[1]))
    for slot, item in zip(slots, story, strict=True):
        items[slot] = item
