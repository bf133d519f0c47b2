"""Wiring every service shares: the command line, the runtime (engine, producer, consumers)
and the HTTP server with ops routes.

Its size: start, readiness, signals and the shared socket are one life cycle; split, each
part would need the others' state."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import inspect
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from switchboard.events import Topic
from switchboard.platform.consumer import BatchHandler, ConsumerRunner
from switchboard.platform.db import make_engine, make_sessionmaker
from switchboard.platform.http import NotReady, ReadinessCheck, add_ops_routes
from switchboard.platform.internal_api import add_internal_api, internal_app_of
from switchboard.platform.kafka import Publisher, PublishError, make_producer
from switchboard.platform.logging import configure_logging, get_logger
from switchboard.platform.metrics import HttpMetrics, watch_pool
from switchboard.platform.migrations import Migrations, current_revision
from switchboard.platform.readiness import Recheck
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
    recheck: Recheck = field(default_factory=Recheck)
    # consumer name -> what to call after each of its batches committed (on_commit)
    commit_hooks: dict[str, list[Callable[[], None]]] = field(default_factory=dict)

    def on_commit(self, consumer: str, wake: Callable[[], None]) -> None:
        """Call `wake` after each batch the consumer `consumer` applied and committed, from
        now on (before or after it started): an outbox loop fed by that consumer then wakes
        when its rows are there instead of polling for them often."""
        self.commit_hooks.setdefault(consumer, []).append(wake)

    async def db_ready(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    async def kafka_ready(self) -> bool:
        if not self.publisher.connected:
            raise NotReady("Kafka unreachable")
        client = self.publisher.producer.client
        return (
            bool(await client.ready(client.get_random_node()))
            if client.cluster.brokers()
            else False
        )

    async def consumers_ready(self) -> bool:
        if any(t.done() for t in self.tasks):
            return False
        # A consumer backing off after a database or Kafka failure retries when asked.
        return await self.recheck(
            lambda: all(c.ready for c in self.consumers), [c.wake for c in self.consumers]
        )

    def stuck_consumers(self) -> list[str]:
        """Consumer loops that hold partitions but stopped polling (liveness)."""
        now = time.monotonic()
        return [c.name for c in self.consumers if c.stalled(now)]


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
    reads_without_kafka: bool = False,
    optional_checks: Sequence[str] = (),
) -> FastAPI:
    """A FastAPI app whose lifespan opens the engine and producer and runs the consumers.

    `internal` routers (`/internal/...`) go on a second app behind the per-caller token check
    (internal_api.py), served on the internal port only, never on this public one.

    `on_start` (plain or async) runs once the engine is open and the producer tried once,
    before the consumers start; `on_stop` runs first at shutdown, while both are open.
    `reads_without_kafka`: Kafka (and `extra_checks` named in `optional_checks`) do not make
    the service unready, as its reads come from PostgreSQL; writes answer 503 meanwhile."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        publisher = Publisher(make_producer(settings), settings, connected=False)
        rt = Runtime(settings, engine, make_sessionmaker(engine), publisher)
        watch_pool(engine, settings.service_name)
        app.state.runtime = rt
        # The process serves (health, reads) whether or not Kafka is reachable yet; the
        # producer connects in the background and the consumers start once it has.
        connected = await rt.publisher.connect()
        if on_start:
            started = on_start(app, rt)
            if inspect.isawaitable(started):
                await started

        def start_consumers() -> None:
            for runner in consumers(rt) if consumers else ():
                # the same list: hooks added later reach a running consumer too
                runner.after_commit = rt.commit_hooks.setdefault(runner.name, [])
                rt.consumers.append(runner)
                rt.tasks.append(asyncio.create_task(runner.run(), name=runner.name))
            log.info("service_started", consumers=[c.name for c in rt.consumers])

        # Set by main_for: consumers wait for the expected schema (a replica started before
        # the release's `migrate` finished must not apply, or dead-letter, events meanwhile).
        schema_ready: ReadinessCheck | None = getattr(app.state, "schema_gate", None)

        async def connect_then_consume() -> None:
            await rt.publisher.connect_until_done()
            if schema_ready and consumers:
                await _until_schema(schema_ready)
            start_consumers()

        connecting: asyncio.Task[None] | None = None
        if connected and not (schema_ready and consumers):
            start_consumers()
        else:
            connecting = asyncio.create_task(connect_then_consume(), name="kafka-connect")
        try:
            yield
        finally:
            if connecting:
                connecting.cancel()
                with contextlib.suppress(BaseException):
                    await connecting
            if on_stop:
                with contextlib.suppress(Exception):
                    await on_stop(app, rt)
            for runner in rt.consumers:
                runner.stop()
            # Each finishes the batch it holds (DB commit, then offsets), within the grace.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    asyncio.gather(*rt.tasks, return_exceptions=True),
                    timeout=settings.shutdown_grace_s,
                )
            await rt.publisher.close()
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
    optional = {"kafka", *optional_checks} if reads_without_kafka else set()

    def stuck() -> list[str]:
        runtime: Runtime | None = getattr(app.state, "runtime", None)
        return runtime.stuck_consumers() if runtime else []

    add_ops_routes(app, checks, optional=optional, liveness=stuck)
    app.add_middleware(HttpMetrics)
    instrument_app(app)
    if internal:
        # counted and traced like the public routes; refusals (401) included
        inner = add_internal_api(app, settings.internal_callers, *internal)
        inner.add_middleware(HttpMetrics)
        instrument_app(inner)

    @app.exception_handler(PublishError)
    async def event_log_unavailable(request: Request, exc: PublishError) -> JSONResponse:
        # A write the event log did not acknowledge is not done: say so, never 500 or 200.
        return JSONResponse({"detail": f"writes unavailable: {exc}"}, status_code=503)

    return app


# After SIGTERM, how long connections accepted just before have to be read before uvicorn
# closes those without a request (it stops accepting at once).
ACCEPTED_DRAIN_S = 0.5


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling: serve() handles SIGTERM/SIGINT once
    for both listeners, and the process exits 0 after a graceful stop (uvicorn re-raises the
    signal, which ends the process with -15, as if killed)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    # uvicorn's main loop wakes ten times a second to refresh its Date header (once a
    # second) and to notice `should_exit`: at rest, one of the most frequent timers of an
    # idle service (issue 17). Here it ticks once a second; setting `should_exit` wakes it.
    @property
    def should_exit(self) -> bool:
        return getattr(self, "_should_exit", False)

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._should_exit = value
        if value:
            self._exit_requested().set()

    def _exit_requested(self) -> asyncio.Event:
        if not hasattr(self, "_exit_event"):
            self._exit_event = asyncio.Event()
        return self._exit_event

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 10) % 864000  # every tick refreshes the Date header
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit_requested().wait(), timeout=1.0)


def listen(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket. `reuse_port`: other processes may listen on the same port
    (SO_REUSEPORT; the kernel spreads connections over them): replicas side by side."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def public_socket(settings: ServiceSettings) -> socket.socket:
    """The public listener: the one the supervisor opened and passed down (`listen_fd`,
    shared by every replica), else a socket of this process's own."""
    if settings.listen_fd is not None:
        return socket.socket(fileno=settings.listen_fd)
    return listen(settings.http_host, settings.http_port, reuse_port=settings.reuse_port)


def serve(
    app: FastAPI, settings: ServiceSettings, public_sock: socket.socket | None = None
) -> None:
    """The public app on `http_port` and, when the service has one, its internal app on
    `internal_port`, in this process and event loop. The internal listener opens once the
    public app's lifespan has started (it shares that app's engine and producer); when either
    server stops (a signal, a failure), both stop.

    SIGTERM (or SIGINT): both listeners close, requests in flight finish, then the lifespan
    stops the consumers after their current batch; all within `shutdown_grace_s`, after
    which what is left is cancelled. A second SIGINT forces the exit."""
    grace = settings.shutdown_grace_s

    def server(asgi: FastAPI, lifespan: Literal["auto", "off"]) -> uvicorn.Server:
        config = uvicorn.Config(
            asgi,
            log_config=None,
            access_log=False,
            lifespan=lifespan,
            timeout_graceful_shutdown=max(1, int(grace)),
            # uvloop runs the whole process (the consumers, the producer, the database
            # driver share this loop) and httptools parses HTTP in C: both cut CPU per
            # message on every service (docs/performance.md, "Profiles and changes").
            loop=settings.event_loop,
            http=settings.http_parser,
        )
        return _Server(config)

    sockets = [public_sock or public_socket(settings)]
    if settings.replica_port_base is not None:
        sockets.append(listen(settings.http_host, settings.replica_port_base + settings.replica))
    public = server(app, "auto")
    internal_app = internal_app_of(app)
    servers = [public]

    def stop(sig: signal.Signals) -> None:
        log.info("shutdown_requested", signal=sig.name, grace_s=grace)
        # Stop accepting at once (another replica on the same port takes new connections),
        # but close connections only a moment later: uvicorn closes a connection that has
        # no request yet, and one accepted just now may not have been read (a rolling
        # restart test saw one such webhook reset).
        for s in servers:
            for listener in getattr(s, "servers", []):
                listener.close()
        asyncio.get_running_loop().call_later(ACCEPTED_DRAIN_S, _exit_servers, sig)
        # Bounded, whatever hangs: the grace for the work, a little more for the rest.
        watchdog = threading.Timer(grace + 10, _overdue)
        watchdog.daemon = True
        watchdog.start()

    def _exit_servers(sig: signal.Signals) -> None:
        for s in servers:
            if s.should_exit and sig == signal.SIGINT:
                s.force_exit = True
            s.should_exit = True

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop, sig)
        public_task = asyncio.create_task(public.serve(sockets), name="http-public")
        tasks = [public_task]
        if internal_app is not None:
            # uvicorn says it started by a flag only (no event to wait on).
            while not public.started and not public_task.done():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            if public.started and not public.should_exit:
                internal = server(internal_app, "off")
                servers.append(internal)
                inner = listen(
                    settings.http_host, settings.internal_port, reuse_port=settings.reuse_port
                )
                tasks.append(asyncio.create_task(internal.serve([inner]), name="http-internal"))
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for s in servers:
            s.should_exit = True
        await asyncio.gather(*tasks)

    with asyncio.Runner(loop_factory=public.config.get_loop_factory()) as runner:
        runner.run(run())
    if not all(s.started for s in servers):
        sys.exit(3)  # uvicorn's start-up failure code
    log.info("stopped")


def _overdue() -> None:
    log.error("shutdown_overdue_exiting")
    os._exit(1)


async def _until_schema(ready: ReadinessCheck, every_s: float = 2.0) -> None:
    told = False
    while True:
        try:
            if await ready():
                return
        except Exception as exc:
            if not told:
                log.warning("consumers_wait_for_schema", reason=str(exc)[:200])
                told = True
        await asyncio.sleep(every_s)


def schema_check(app: FastAPI, migrations: Migrations) -> ReadinessCheck:
    """Ready once the schema is at the revision this code expects (or a newer release's)."""
    done = False

    async def check() -> bool:
        nonlocal done
        if done:  # a schema does not go back: stop asking once it was right
            return True
        async with app.state.runtime.engine.connect() as conn:
            current = await conn.run_sync(lambda c: current_revision(c, migrations))
        # reads the migration scripts (and imports Alembic the first time): off the loop
        state = await asyncio.to_thread(migrations.state, current)
        if not state.ready:
            raise NotReady(state.reason)
        done = True
        return True

    return check


def main_for(
    service: str,
    settings_cls: type[ServiceSettings],
    build_app: Callable[[ServiceSettings], FastAPI],
    migrations: Path | None = None,
    schema: str | None = None,
) -> Callable[[list[str] | None], None]:
    """`switchboard-<service> [run|migrate]`.

    `migrate` is the only thing that migrates (under an advisory lock, see migrations.py);
    `run` serves whatever the schema, and /readyz says whether it is the expected one."""
    scripts = Migrations(migrations, schema or service.replace("-", "_")) if migrations else None

    def main(argv: list[str] | None = None) -> None:
        parser = argparse.ArgumentParser(prog=f"switchboard-{service}")
        parser.add_argument("command", nargs="?", default="run", choices=["run", "migrate"])
        args = parser.parse_args(argv)
        settings = settings_cls(service_name=service)  # type: ignore[call-arg]
        configure_logging(service, settings.log_level)
        configure_tracing(service)
        instrument_libraries()
        if args.command == "migrate":
            if scripts:
                scripts.upgrade(settings.database_url)
            log.info("migrated", service=service)
            return
        # Before anything connects: production without its secrets exits here, in a second.
        enforce_secrets(settings, service, log)
        # Listening from here on: connections made while the app starts wait in the
        # kernel's queue for its first answer instead of being refused.
        sock = public_socket(settings)
        app = build_app(settings)
        if scripts:
            check = schema_check(app, scripts)
            app.state.readiness_checks["schema"] = check
            app.state.schema_gate = check
        serve(app, settings, sock)
        _exit_stopped()

    return main


def _exit_stopped() -> None:
    """Exit 0 after a stop: the lifespan closed what the process held. The exit handlers run
    (the tracer flushes its spans), the interpreter's teardown of every module and object
    does not: on a busy machine it took seconds more than the stop itself."""
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
