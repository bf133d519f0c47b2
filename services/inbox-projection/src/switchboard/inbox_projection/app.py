"""inbox-projection: builds the inbox read models from the log. Wiring only."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from switchboard.events import Topic
from switchboard.inbox_projection import storage
from switchboard.inbox_projection.handlers import handle_batch
from switchboard.inbox_projection.settings import ProjectionSettings
from switchboard.platform.consumer import ConsumerRunner
from switchboard.platform.service import Runtime, main_for, service_app
from switchboard.platform.settings import ServiceSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def consumers(rt: Runtime) -> list[ConsumerRunner]:
    return [
        ConsumerRunner(
            name="inbox-projection",
            topics=[Topic.MESSAGES, Topic.ROUTING],
            handler=handle_batch,
            settings=rt.settings,
            sessionmaker=rt.sessionmaker,
            processed=storage.processed,
            publisher=rt.publisher,
        )
    ]


def build_app(settings: ServiceSettings) -> FastAPI:
    return service_app(settings, consumers=consumers, title="Switchboard inbox projection")


main = main_for("inbox-projection", ProjectionSettings, build_app, migrations=MIGRATIONS)
