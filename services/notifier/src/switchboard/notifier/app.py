"""notifier: alerts to the right staff (I-NOTIFY-1), availability (X-AVAIL-1) and response
timers (X-SLA-1). Wiring only: one consumer (routing, configuration, delivery), the
dispatcher of external alerts, the timer loop, the event webhooks' dispatcher, the public
events' retention, and the internal API (internal.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from switchboard.events import Topic
from switchboard.notifier import storage
from switchboard.notifier.dispatcher import Dispatcher
from switchboard.notifier.escalations import TimerLoop
from switchboard.notifier.event_webhooks_api import router as event_webhooks_router
from switchboard.notifier.handlers import NotifierHandler
from switchboard.notifier.internal import router as internal_router
from switchboard.notifier.public_handlers import PublicStreamHandler, WebhookIntakeHandler
from switchboard.notifier.public_retention import PublicEventsRetention
from switchboard.notifier.settings import NotifierSettings
from switchboard.notifier.webhook_dispatch import EventWebhookDispatcher
from switchboard.platform.readiness import Recheck
from switchboard.platform.service import consumer_for, main_for, service_app
from switchboard.platform.settings import ServiceSettings

MIGRATIONS = Path(__file__).parent / "migrations"
TOPICS = [Topic.ROUTING, Topic.CONFIG, Topic.DELIVERY, Topic.ACTIONS]
# The public stream's translator reads these (ADR 0022); the webhooks' intake reads its output.
PUBLIC_SOURCES = [Topic.MESSAGES, Topic.ROUTING, Topic.ACTIONS, Topic.DELIVERY]
PUBLIC_TOPICS = [Topic.PUBLIC_CONVERSATIONS, Topic.PUBLIC_CONTENT]


def build_app(settings: ServiceSettings) -> FastAPI:
    if not isinstance(settings, NotifierSettings):
        settings = NotifierSettings(**settings.model_dump())
    handler = NotifierHandler(settings)
    groups = [
        consumer_for("notifier", TOPICS, handler, storage.processed),
        consumer_for("notifier-public", PUBLIC_SOURCES, PublicStreamHandler(), storage.processed),
        consumer_for("notifier-webhooks", PUBLIC_TOPICS, WebhookIntakeHandler(), storage.processed),
    ]

    def consumers(rt: Any) -> list[Any]:
        return [runner for group in groups for runner in group(rt)]

    recheck = Recheck()

    async def _workers() -> bool:
        workers: list[tuple[Any, asyncio.Task[None]]] = getattr(app.state, "workers", [])
        if not workers or any(t.done() for _, t in workers):
            return False
        # after a database outage: retry now rather than report the last failure
        return await recheck(lambda: all(w.ready for w, _ in workers), [w.wake for w, _ in workers])

    app = service_app(
        settings,
        consumers=consumers,
        extra_checks={"timers_and_dispatcher": _workers},
        title="Switchboard notifier",
        internal=[internal_router, event_webhooks_router],
    )
    app.state.settings = settings
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with inner(app):
            rt = app.state.runtime
            workers: list[tuple[Any, asyncio.Task[None]]] = []
            dispatcher = Dispatcher(settings, rt.sessionmaker, rt.publisher)
            hooks = EventWebhookDispatcher(settings, rt.sessionmaker)
            # The outboxes' rows are written by these consumers: their loops wake when a
            # batch committed and otherwise poll slowly (idle cost, issue 17).
            rt.on_commit("notifier", dispatcher.wake)
            rt.on_commit("notifier-webhooks", hooks.wake)
            for worker in (
                dispatcher,
                TimerLoop(settings, rt.sessionmaker, rt.publisher),
                hooks,
                PublicEventsRetention(settings, rt.sessionmaker),
            ):
                workers.append((worker, asyncio.create_task(worker.run())))
            app.state.workers = workers
            try:
                yield
            finally:
                for worker, _ in workers:
                    worker.stop()
                for _, task in workers:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(task, timeout=10)

    app.router.lifespan_context = lifespan
    return app


main = main_for("notifier", NotifierSettings, build_app, migrations=MIGRATIONS)
