"""Alembic per service schema: one helper that every service's migrations/env.py calls, the
advisory lock that serialises concurrent `migrate` commands, and the revision check behind
/readyz (services never migrate at start; a release runs `migrate` once, e.g. as a Job)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, MetaData, text

from switchboard.platform.db import make_sync_engine
from switchboard.platform.logging import get_logger

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic (with Mako) is imported where it is used, not by `run`'s imports: a service's
# start-up reads the schema revision only after it listens (readiness, the consumers' gate).

log = get_logger(__name__)


def alembic_config(script_location: Path, url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(script_location: Path, url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(script_location, url), revision)


def lock_key(schema: str) -> int:
    """The advisory lock of one service's migrations: a stable signed 64-bit key per schema,
    so two services migrate side by side while two copies of one service take turns."""
    digest = hashlib.sha256(f"switchboard.migrate.{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _lock(conn: Connection, schema: str) -> None:
    key = lock_key(schema)
    if conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
        return
    # Another `migrate` of this service is running (a second Job pod, an operator by hand):
    # wait for it, then find the schema at its revision and have nothing left to do.
    log.info("migration_lock_wait", schema=schema)
    conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
    log.info("migration_lock_acquired", schema=schema)


def run_env(metadata: MetaData, schema: str) -> None:
    """Body of a service's migrations/env.py (online mode only: we always have a database).

    The whole run holds a session-level advisory lock on the migration connection, taken
    before anything else (the CREATE SCHEMA and the version table race too)."""
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_sync_engine(url)
    try:
        with engine.connect() as conn:
            _lock(conn, schema)
            conn.commit()
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            conn.commit()
            context.configure(
                connection=conn,
                target_metadata=metadata,
                version_table_schema=schema,
                include_schemas=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(schema)})
            conn.commit()
    finally:
        engine.dispose()  # closing the connection releases the lock in any case


@dataclass(frozen=True)
class SchemaState:
    """Where a service's schema is against the revision its code expects."""

    current: str | None
    expected: str
    known: frozenset[str]

    @property
    def ready(self) -> bool:
        # A revision this code does not know is a newer release's (migrations run before the
        # rollout and are additive): the old replicas keep serving during the upgrade.
        return self.current == self.expected or (
            self.current is not None and self.current not in self.known
        )

    @property
    def reason(self) -> str:
        if self.current is None:
            return f"schema not migrated, expected {self.expected}"
        return f"schema at {self.current}, expected {self.expected}"


@dataclass(frozen=True)
class Migrations:
    """A service's migration scripts and the schema (and version table) they manage."""

    location: Path
    schema: str

    def expected(self) -> str:
        from alembic.script import ScriptDirectory

        heads = ScriptDirectory.from_config(alembic_config(self.location, "")).get_heads()
        if len(heads) != 1:
            raise RuntimeError(f"{self.location}: expected one head, found {heads}")
        return heads[0]

    def known(self) -> frozenset[str]:
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(alembic_config(self.location, ""))
        return frozenset(rev.revision for rev in script.walk_revisions())

    def current_sql(self) -> str:
        return f'SELECT version_num FROM "{self.schema}".alembic_version'  # noqa: S608

    def state(self, current: str | None) -> SchemaState:
        return SchemaState(current, self.expected(), self.known())

    def upgrade(self, url: str) -> None:
        upgrade(self.location, url)


def current_revision(conn: Connection, migrations: Migrations) -> str | None:
    """The revision recorded in the schema's version table (None: never migrated)."""
    table = f'"{migrations.schema}".alembic_version'
    if conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is None:
        return None
    return conn.execute(text(migrations.current_sql())).scalar()
