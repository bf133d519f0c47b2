"""Wiring every service shares: the command line, the runtime (engine, producer, consumers)
and the HTTP server with ops routes."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import uvicorn
from fastapi import APIRouter, FastAPI
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from switchboard.events import Topic
from switchboard.platform.consumer import BatchHandler, ConsumerRunner
from switchboard.platform.db import make_engine, make_sessionmaker
from switchboard.platform.http import ReadinessCheck, add_ops_routes
from switchboard.platform.internal_api import add_internal_api, internal_app_of
from switchboard.platform.kafka import Publisher, make_producer
from switchboard.platform.logging import configure_logging, get_logger
from switchboard.platform.metrics import HttpMetrics, watch_pool
from switchboard.platform.migrations import upgrade
from switchboard.platform.secret_settings import enforce_secrets
from switchboard.platform.settings import ServiceSettings
from switchboard.platform.telemetry import configure_tracing, instrument_app, instrument_libraries

log = get_logger(__name__)


@dataclass
class Runtime:
    """The live connections of one service process."""

    settings: ServiceSettings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    publisher: Publisher
    consumers: list[ConsumerRunner] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def db_ready(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    async def kafka_ready(self) -> bool:
        client = self.publisher.producer.client
        return (
            bool(await client.ready(client.get_random_node()))
            if client.cluster.brokers()
            else False
        )

    async def consumers_ready(self) -> bool:
        return all(c.ready for c in self.consumers) and all(not t.done() for t in self.tasks)


ConsumerFactory = Callable[[Runtime], Sequence[ConsumerRunner]]


def consumer_for(
    name: str, topics: Sequence[Topic], handler: BatchHandler, processed: Table
) -> ConsumerFactory:
    """The usual case: one consumer group applying `handler` to `topics`."""

    def build(rt: Runtime) -> list[ConsumerRunner]:
        return [
            ConsumerRunner(
                name=name,
                topics=topics,
                handler=handler,
                settings=rt.settings,
                sessionmaker=rt.sessionmaker,
                processed=processed,
                publisher=rt.publisher,
            )
        ]

    return build


def service_app(
    settings: ServiceSettings,
    *,
    consumers: ConsumerFactory | None = None,
    extra_checks: dict[str, ReadinessCheck] | None = None,
    on_start: Callable[[FastAPI, Runtime], Awaitable[None] | None] | None = None,
    on_stop: Callable[[FastAPI, Runtime], Awaitable[None]] | None = None,
    title: str | None = None,
    database: bool = True,
    internal: Sequence[APIRouter] = (),
) -> FastAPI:
    """A FastAPI app whose lifespan opens the engine and producer and runs the consumers.

    `internal` routers (`/internal/...`) go on a second app behind the per-caller token check
    (internal_api.py), served on the internal port only, never on this public one.

    `on_start` (plain or async) runs once the engine and producer are open, before the
    consumers start; `on_stop` runs first at shutdown, while both are still open."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        producer = make_producer(settings)
        await producer.start()
        rt = Runtime(settings, engine, make_sessionmaker(engine), Publisher(producer, settings))
        watch_pool(engine, settings.service_name)
        app.state.runtime = rt
        if on_start:
            started = on_start(app, rt)
            if inspect.isawaitable(started):
                await started
        for runner in consumers(rt) if consumers else ():
            rt.consumers.append(runner)
            rt.tasks.append(asyncio.create_task(runner.run(), name=runner.name))
        log.info("service_started", consumers=[c.name for c in rt.consumers])
        try:
            yield
        finally:
            if on_stop:
                with contextlib.suppress(Exception):
                    await on_stop(app, rt)
            for runner in rt.consumers:
                runner.stop()
            for task in rt.tasks:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, timeout=5)
            await producer.stop()
            await engine.dispose()

    app = FastAPI(title=title or settings.service_name, lifespan=lifespan)

    async def _db() -> bool:
        return bool(await app.state.runtime.db_ready())

    async def _kafka() -> bool:
        return bool(await app.state.runtime.kafka_ready())

    async def _consumers() -> bool:
        return bool(await app.state.runtime.consumers_ready())

    checks: dict[str, ReadinessCheck] = {"kafka": _kafka}
    if database:
        checks["database"] = _db
    if consumers:
        checks["consumers"] = _consumers
    checks.update(extra_checks or {})
    add_ops_routes(app, checks)
    app.add_middleware(HttpMetrics)
    instrument_app(app)
    if internal:
        # counted and traced like the public routes; refusals (401) included
        inner = add_internal_api(app, settings.internal_callers, *internal)
        inner.add_middleware(HttpMetrics)
        instrument_app(inner)
    return app


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """The public app on `http_port` and, when the service has one, its internal app on
    `internal_port`, in this process and event loop. The internal listener opens once the
    public app's lifespan has started (it shares that app's engine and producer); when either
    server stops (a signal, a failure), both stop."""

    def server(asgi: FastAPI, port: int, lifespan: Literal["auto", "off"]) -> uvicorn.Server:
        config = uvicorn.Config(
            asgi,
            host=settings.http_host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan=lifespan,
        )
        return uvicorn.Server(config)

    public = server(app, settings.http_port, "auto")
    internal_app = internal_app_of(app)
    servers = [public]

    async def run() -> None:
        public_task = asyncio.create_task(public.serve(), name="http-public")
        tasks = [public_task]
        if internal_app is not None:
            # uvicorn says it started by a flag only (no event to wait on).
            while not public.started and not public_task.done():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            if public.started:
                internal = server(internal_app, settings.internal_port, "off")
                servers.append(internal)
                tasks.append(asyncio.create_task(internal.serve(), name="http-internal"))
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for s in servers:
            s.should_exit = True
        await asyncio.gather(*tasks)

    with asyncio.Runner(loop_factory=public.config.get_loop_factory()) as runner:
        runner.run(run())
    if not all(s.started for s in servers):
        sys.exit(3)  # uvicorn's start-up failure code


def main_for(
    service: str,
    settings_cls: type[ServiceSettings],
    build_app: Callable[[ServiceSettings], FastAPI],
    migrations: Path | None = None,
) -> Callable[[list[str] | None], None]:
    """`switchboard-<service> [run|migrate]`."""

    def main(argv: list[str] | None = None) -> None:
        parser = argparse.ArgumentParser(prog=f"switchboard-{service}")
        parser.add_argument("command", nargs="?", default="run", choices=["run", "migrate"])
        args = parser.parse_args(argv)
        settings = settings_cls(service_name=service)  # type: ignore[call-arg]
        configure_logging(service, settings.log_level)
        configure_tracing(service)
        instrument_libraries()
        if args.command == "migrate":
            if migrations:
                upgrade(migrations, settings.database_url)
            log.info("migrated", service=service)
            return
        # Before anything connects: production without its secrets exits here, in a second.
        enforce_secrets(settings, service, log)
        if migrations:
            upgrade(migrations, settings.database_url)
        serve(build_app(settings), settings)

    return main
