"""Helpers for ingest's integration tests and benchmark: a JSON HTTP stand-in (the SMS
provider, pm-sync, the router), a database and topic prefix of the module's own, and the
ingest app run in-process with its real consumers, dispatcher and SMTP listener."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from http_standin import Call, StandIn
from sqlalchemy import create_engine, text

from switchboard.ingest.app import MIGRATIONS, build_app
from switchboard.ingest.settings import IngestSettings
from switchboard.platform.kafka import ensure_topics
from switchboard.platform.migrations import upgrade

Responder = Callable[[Call], tuple[int, Any]]


@dataclass
class JsonServer(StandIn):
    """Records calls and answers with JSON (or bytes) from `respond`."""

    respond: Responder = lambda _c: (200, {})
    calls: list[Call] = field(default_factory=list)

    async def answer(self, call: Call) -> tuple[int, bytes]:
        self.calls.append(call)
        status, payload = self.respond(call)
        return status, payload if isinstance(payload, bytes) else json.dumps(payload).encode()


@contextlib.contextmanager
def own_database(pg_port: int) -> Any:
    """A database of the module's own (its router process must not share state)."""
    name = f"sb_ingest_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        f"postgresql+psycopg://switchboard@127.0.0.1:{pg_port}/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://switchboard@127.0.0.1:{pg_port}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def prepare(settings: IngestSettings) -> None:
    upgrade(MIGRATIONS, settings.database_url)
    await ensure_topics(settings)


@contextlib.asynccontextmanager
async def running_ingest(settings: IngestSettings) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The ingest app with its lifespan (consumers, dispatcher, SMTP listener), and a client
    that calls it in-process."""
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if (await c.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            yield app, c
