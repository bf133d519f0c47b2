"""inbox-projection: builds the inbox read models from the log. Wiring only.

switchboard-inbox-projection [run|migrate]   the live consumer (and migrations)
switchboard-inbox-projection rebuild          replay the log into a new generation and
                                              switch to it (X-REPLAY-1)
switchboard-inbox-projection rebuild-reports  the same for the reports read model (ADR 0021)

Two consumer groups: the inbox's, and the reports' (reports_handlers.py, X-REPORT-1).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from pathlib import Path

from fastapi import FastAPI

from switchboard.inbox_projection import reports_handlers, storage
from switchboard.inbox_projection.handlers import handle_batch
from switchboard.inbox_projection.model import TOPICS
from switchboard.inbox_projection.reports_model import REPORT_TOPICS
from switchboard.inbox_projection.settings import ProjectionSettings
from switchboard.inbox_projection.snooze import wake_loop
from switchboard.platform.consumer import ConsumerRunner
from switchboard.platform.due_events import DueEvents
from switchboard.platform.logging import configure_logging
from switchboard.platform.migrations import upgrade
from switchboard.platform.service import Runtime, consumer_for, main_for, service_app
from switchboard.platform.settings import ServiceSettings

MIGRATIONS = Path(__file__).parent / "migrations"

_inbox = consumer_for("inbox-projection", TOPICS, handle_batch, storage.processed)
_reports = consumer_for(
    "inbox-reports", REPORT_TOPICS, reports_handlers.handle_batch, storage.processed
)


def consumers(rt: Runtime) -> list[ConsumerRunner]:
    return [*_inbox(rt), *_reports(rt)]


def _start_wake_loop(app: FastAPI, rt: Runtime) -> None:
    """The snooze wake-up timer (snooze.py, I-SNOOZE-1) runs beside the consumer."""
    every = getattr(rt.settings, "snooze_wake_every_s", 1.0)
    app.state.wake_loop = wake_loop(rt.sessionmaker, rt.publisher, every_s=every).start()


async def _stop_wake_loop(app: FastAPI, rt: Runtime) -> None:
    loop: DueEvents | None = getattr(app.state, "wake_loop", None)
    if loop is not None:
        await loop.stop()


def build_app(settings: ServiceSettings) -> FastAPI:
    # A poll of 2,000 events makes many short-lived objects: collect less often.
    gc.set_threshold(50_000, 50, 50)
    return service_app(
        settings,
        consumers=consumers,
        title="Switchboard inbox projection",
        on_start=_start_wake_loop,
        on_stop=_stop_wake_loop,
    )


_serve = main_for(
    "inbox-projection", ProjectionSettings, build_app, migrations=MIGRATIONS, schema=storage.SCHEMA
)


async def _prune(database_url: str, keep: int) -> list[str]:
    from switchboard.inbox_projection.rebuild import prune
    from switchboard.platform.db import make_engine

    engine = make_engine(database_url)
    try:
        return await prune(engine, keep)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["rebuild-reports"]:
        _rebuild_reports(args[1:])
        return
    if args[:1] == ["rebuild"]:
        from switchboard.inbox_projection.rebuild import rebuild

        parser = argparse.ArgumentParser(prog="switchboard-inbox-projection rebuild")
        parser.add_argument("--no-switch", action="store_true", help="build, do not switch")
        parser.add_argument("--batch", type=int, default=10_000, help="events per transaction")
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument(
            "--keep",
            type=int,
            default=1,
            help="earlier generations kept after the switch (the rest are dropped)",
        )

        opts = parser.parse_args(args[1:])
        settings = ProjectionSettings(service_name="inbox-projection-rebuild")
        configure_logging("inbox-projection", settings.log_level)
        upgrade(MIGRATIONS, settings.database_url)
        result = asyncio.run(
            rebuild(
                settings,
                switch=not opts.no_switch,
                batch=opts.batch,
                progress=not opts.no_progress,
            )
        )
        print(result.summary())
        if result.switched:
            pruned = asyncio.run(_prune(settings.database_url, max(0, opts.keep)))
            if pruned:
                print(f"dropped earlier generations: {', '.join(pruned)}")
        return
    _serve(args)


def _rebuild_reports(args: list[str]) -> None:
    from switchboard.inbox_projection.reports_rebuild import prune, rebuild_reports
    from switchboard.platform.db import make_engine

    parser = argparse.ArgumentParser(prog="switchboard-inbox-projection rebuild-reports")
    parser.add_argument("--no-switch", action="store_true", help="build, do not switch")
    parser.add_argument("--keep", type=int, default=1, help="earlier generations kept")
    opts = parser.parse_args(args)
    settings = ProjectionSettings(service_name="inbox-projection-rebuild-reports")
    configure_logging("inbox-projection", settings.log_level)
    upgrade(MIGRATIONS, settings.database_url)
    result = asyncio.run(rebuild_reports(settings, switch=not opts.no_switch))
    print(result.summary())
    if result.switched:

        async def _prune() -> list[str]:
            engine = make_engine(settings.database_url)
            try:
                return await prune(engine, max(0, opts.keep))
            finally:
                await engine.dispose()

        pruned = asyncio.run(_prune())
        if pruned:
            print(f"dropped earlier generations: {', '.join(pruned)}")
