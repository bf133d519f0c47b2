"""Every service's tables are declared twice: raw SQL migrations make them, SQLAlchemy tables
(storage.py) query them. Here each service's migrations run on a real PostgreSQL and Alembic's
`compare_metadata` compares the result with its tables: columns, types, nullability, server
defaults, indexes and unique constraints. Any difference fails, named.

Alembic compares an index's columns and uniqueness only, not its method or a partial index's
WHERE: so the tables are also created as declared in a scratch schema (rolled back) and every
index definition PostgreSQL reports there must equal the migrated one."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData, create_engine, text

from switchboard.platform.migrations import upgrade

pytestmark = pytest.mark.integration

SERVICES = ["gateway", "ingest", "router", "inbox_projection", "notifier", "pm_sync"]
# Where a service keeps its wiring (MIGRATIONS) and its tables, when not at the top.
APP = {"pm_sync": "entrypoints.app"}
STORAGE = {"ingest": "adapters.storage", "pm_sync": "adapters.storage"}


def _tables(service: str) -> tuple[Path, str, MetaData]:
    """The service's migrations, its schema, and every table it declares in that schema."""
    app = importlib.import_module(f"switchboard.{service}.{APP.get(service, 'app')}")
    storage = importlib.import_module(f"switchboard.{service}.{STORAGE.get(service, 'storage')}")
    declared = [storage.metadata]
    if service == "inbox_projection":
        declared.append(storage.gen)  # the first generation lives in schema inbox too
        # and the reports read model's pointer and first generation (ADR 0021)
        reports = importlib.import_module("switchboard.inbox_projection.reports_storage")
        declared += [reports.metadata, reports.gen]
    merged = MetaData()
    for md in declared:
        for table in md.tables.values():
            table.to_metadata(merged)
    return app.MIGRATIONS, storage.SCHEMA, merged


@pytest.fixture(scope="module")
def db(own_db) -> Iterator[str]:
    """own_db with every service migrated (each owns one schema; the runs are independent)."""
    for service in SERVICES:
        migrations, _, _ = _tables(service)
        upgrade(migrations, own_db)
    yield own_db


def differences(url: str, schema: str, metadata: MetaData) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_schemas": True,
                    "compare_type": True,
                    "compare_server_default": True,
                    "include_name": lambda name, type_, _parents: (
                        name == schema if type_ == "schema" else True
                    ),
                    "include_object": lambda _obj, name, type_, _reflected, _compare_to: (
                        not (type_ == "table" and name == "alembic_version")
                    ),
                },
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


@pytest.mark.parametrize("service", SERVICES)
def test_tables_match_migrations(db, service) -> None:
    _, schema, metadata = _tables(service)
    assert metadata.tables, f"{service} declares no tables"
    assert differences(db, schema, metadata) == []


def _index_definitions(conn: Connection, schema: str) -> dict[str, str]:
    rows = conn.execute(
        text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s"), {"s": schema}
    )
    return {name: definition.replace(f" ON {schema}.", " ON ") for name, definition in rows}


@pytest.mark.parametrize("service", SERVICES)
def test_indexes_match_migrations(db, service) -> None:
    _, schema, metadata = _tables(service)
    scratch = f"declared_{schema}"
    declared = MetaData(schema=scratch)
    for table in metadata.tables.values():
        table.to_metadata(declared, schema=scratch)
    engine = create_engine(db)
    try:
        with engine.connect() as conn, conn.begin() as tx:
            conn.execute(text(f'CREATE SCHEMA "{scratch}"'))
            declared.create_all(conn)
            as_declared = _index_definitions(conn, scratch)
            tx.rollback()
        with engine.connect() as conn:
            as_migrated = _index_definitions(conn, schema)
    finally:
        engine.dispose()
    as_migrated.pop("alembic_version_pkc", None)
    assert as_declared == as_migrated
