"""ingest: the channel edge, both directions. Wiring only.

In: SMS/MMS, voicemail and delivery-status webhooks, raw email over HTTP and SMTP, the
patient page (messenger, secure email). Out: the `ingest-replies` consumer records each
ReplyRequested once and the dispatcher sends it (SMS provider, SMTP relay, patient page).
The `ingest-contacts` consumer keeps who each number belongs to (I-THREAD-1), and a feed keeps
the same in memory for the webhooks (adapters/contact_feed.py); `ingest-intake`
threads the messages accepted while the database was away (ADR 0008).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from switchboard.events import Topic
from switchboard.ingest import deferred
from switchboard.ingest.adapters import storage
from switchboard.ingest.adapters.attachments import AttachmentStore, make_store
from switchboard.ingest.adapters.contact_feed import ContactFeed
from switchboard.ingest.adapters.line_labels import apply_config, keep_labels_fresh
from switchboard.ingest.adapters.page_copies import PageCopies
from switchboard.ingest.adapters.peers import Peers
from switchboard.ingest.adapters.senders import EmailSender, SmsSender
from switchboard.ingest.adapters.sign_in_limit import SignInLimiter
from switchboard.ingest.domain.contact_index import ContactIndex
from switchboard.ingest.domain.directory import Directory
from switchboard.ingest.entrypoints.dispatcher import Dispatcher
from switchboard.ingest.entrypoints.handlers import Handlers
from switchboard.ingest.entrypoints.internal import router as internal_api
from switchboard.ingest.entrypoints.overload import Gate, InFlightLimit, outermost
from switchboard.ingest.entrypoints.page import router as patient_page
from switchboard.ingest.entrypoints.patient_api import router as patient_api
from switchboard.ingest.entrypoints.patient_sign_in import router as patient_sign_in
from switchboard.ingest.entrypoints.smtp import SmtpListener
from switchboard.ingest.entrypoints.staff_files import router as staff_files_api
from switchboard.ingest.entrypoints.webhooks import router as webhooks
from switchboard.ingest.intake import Intake
from switchboard.ingest.settings import IngestSettings
from switchboard.platform.consumer import ConsumerRunner
from switchboard.platform.readiness import Recheck
from switchboard.platform.service import Runtime, main_for, service_app
from switchboard.platform.settings import ServiceSettings
from switchboard.platform.textguard import install_edge

MIGRATIONS = Path(__file__).parent / "migrations"


def wire(app: FastAPI, settings: IngestSettings, runtime: Any, store: AttachmentStore) -> None:
    """The request-side objects, on app.state (tests call this with stand-ins)."""
    client = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=50)
    )
    app.state.http = client
    app.state.store = store
    app.state.intake = Intake(
        settings,
        app.state.directory,
        store,
        runtime.sessionmaker,
        runtime.publisher,
        client,
        getattr(app.state, "contact_index", None),
    )
    app.state.peers = Peers(settings, client)
    app.state.page_copies = PageCopies(lambda: runtime.sessionmaker())
    app.state.attempts = SignInLimiter(
        runtime.sessionmaker,
        settings.link_secret.get_secret_value(),
        settings.verify_max_failures,
        settings.verify_window_s,
    )


def build_app(settings: ServiceSettings) -> FastAPI:
    if not isinstance(settings, IngestSettings):
        settings = IngestSettings(**settings.model_dump())
    directory = Directory(settings.lines, settings.practices)
    handlers = Handlers(settings, directory)

    def consumers(rt: Runtime) -> list[ConsumerRunner]:
        common: dict[str, Any] = {
            "settings": rt.settings,
            "sessionmaker": rt.sessionmaker,
            "processed": storage.processed,
            "publisher": rt.publisher,
        }
        return [
            ConsumerRunner(
                name="ingest-replies", topics=[Topic.ACTIONS], handler=handlers.actions, **common
            ),
            ConsumerRunner(
                name="ingest-contacts", topics=[Topic.PM], handler=handlers.contacts, **common
            ),
            ConsumerRunner(  # messages accepted while the database was away (ADR 0008)
                name="ingest-intake", topics=[Topic.INTAKE], handler=deferred.handle, **common
            ),
            ConsumerRunner(  # line labels set by practice admins (LineLabelSet, I-LINE-1)
                name="ingest-config",
                topics=[Topic.CONFIG],
                handler=lambda session, events: apply_config(session, directory, events),
                **common,
            ),
        ]

    async def on_start(app: FastAPI, rt: Runtime) -> None:
        app.state.contact_index = ContactIndex()
        app.state.contact_feed_task = asyncio.create_task(
            ContactFeed(rt.settings, rt.sessionmaker, app.state.contact_index).run(),
            name="contact-feed",
        )
        wire(app, settings, rt, make_store(settings))
        dispatcher = Dispatcher(
            settings,
            rt.sessionmaker,
            rt.publisher,
            {
                "sms": SmsSender(settings, app.state.http),
                "email": EmailSender(
                    settings,
                    app.state.store,
                    rt.sessionmaker,
                    app.state.http,
                    app.state.peers.notice_language,
                ),
            },
        )
        app.state.dispatcher = dispatcher
        # Replies are queued by this consumer: the dispatcher wakes when a batch committed.
        rt.on_commit("ingest-replies", dispatcher.wake)
        app.state.dispatcher_task = asyncio.create_task(dispatcher.run(), name="dispatcher")
        app.state.labels_task = asyncio.create_task(
            keep_labels_fresh(rt.sessionmaker, directory), name="line-labels"
        )
        # What start-up built lives as long as the process: out of the collector's way, so
        # its full collections (pauses in the webhook's answer) stay short.
        gc.collect()
        gc.freeze()
        app.state.smtp = None
        # Replicas side by side on one machine (make up SB_INGEST_REPLICAS=2) share the
        # HTTP port; SMTP listens in the first only.
        if settings.smtp_listen_port and settings.replica == 0:
            app.state.smtp = SmtpListener(settings, app.state.intake, app.state.gate)
            await app.state.smtp.start()

    async def on_stop(app: FastAPI, rt: Runtime) -> None:
        if app.state.smtp is not None:
            await app.state.smtp.stop()
        app.state.dispatcher.stop()
        app.state.labels_task.cancel()
        app.state.contact_feed_task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(app.state.dispatcher_task, timeout=10)
        await app.state.http.aclose()

    recheck = Recheck()

    async def _dispatcher() -> bool:
        d = getattr(app.state, "dispatcher", None)
        task = getattr(app.state, "dispatcher_task", None)
        if d is None or task is None or task.done():
            return False
        # after a database outage: retry now rather than report the last failure
        return await recheck(lambda: bool(d.ready), [d.wake])

    app = service_app(
        settings,
        consumers=consumers,
        extra_checks={"dispatcher": _dispatcher},
        on_start=on_start,
        on_stop=on_stop,
        title="Switchboard ingest",
        internal=[internal_api, staff_files_api],
    )
    app.state.settings = settings
    app.state.directory = directory
    # Providers' webhooks take any text (stored in its safe form); the APIs refuse it.
    install_edge(app, exempt=("/webhooks/",))
    # Overload is refused at once, before any other work: outside every middleware, the
    # tracing one included (a refusal costs no span; under overload each refusal's CPU is
    # what the requests let in lack).
    app.state.gate = Gate(settings.ingest_max_in_flight)
    outermost(app, InFlightLimit, gate=app.state.gate, retry_after_s=settings.ingest_retry_after_s)
    if settings.patient_page_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.patient_page_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type"],
            max_age=600,
        )
    app.include_router(webhooks)
    app.include_router(patient_sign_in)
    app.include_router(patient_api)
    app.include_router(patient_page)
    return app


main = main_for("ingest", IngestSettings, build_app, migrations=MIGRATIONS)
