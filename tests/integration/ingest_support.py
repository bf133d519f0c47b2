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
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import create_engine, text

from switchboard.ingest.app import MIGRATIONS, build_app
from switchboard.ingest.settings import IngestSettings
from switchboard.platform.kafka import ensure_topics
from switchboard.platform.migrations import upgrade


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


Responder = Callable[[Call], tuple[int, Any]]


@dataclass
class JsonServer:
    """Keep-alive HTTP/1.1 server on 127.0.0.1 that records calls and answers with JSON
    (or bytes) from `respond`."""

    respond: Responder = lambda _c: (200, {})
    calls: list[Call] = field(default_factory=list)
    port: int = 0
    _server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> JsonServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=512)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                parts = urlsplit(target)
                call = Call(method, parts.path, parse_qs(parts.query), headers, body, time.time())
                self.calls.append(call)
                status, payload = self.respond(call)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


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
