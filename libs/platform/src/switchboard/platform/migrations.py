"""Alembic per service schema: one helper that every service's migrations/env.py calls."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, text

from switchboard.platform.db import make_sync_engine


def alembic_config(script_location: Path, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(script_location: Path, url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(script_location, url), revision)


def run_env(metadata: MetaData, schema: str) -> None:
    """Body of a service's migrations/env.py (online mode only: we always have a database)."""
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_sync_engine(url)
    with engine.connect() as conn:
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
    engine.dispose()
