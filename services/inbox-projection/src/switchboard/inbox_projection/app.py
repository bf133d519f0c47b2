"""inbox-projection: builds the inbox read models from the log. Wiring only."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from switchboard.events import Topic
from switchboard.inbox_projection import storage
from switchboard.inbox_projection.handlers import handle_batch
from switchboard.inbox_projection.settings import ProjectionSettings
from switchboard.platform.service import consumer_for, main_for, service_app
from switchboard.platform.settings import ServiceSettings

MIGRATIONS = Path(__file__).parent / "migrations"


consumers = consumer_for(
    "inbox-projection", [Topic.MESSAGES, Topic.ROUTING], handle_batch, storage.processed
)


def build_app(settings: ServiceSettings) -> FastAPI:
    return service_app(settings, consumers=consumers, title="Switchboard inbox projection")


main = main_for("inbox-projection", ProjectionSettings, build_app, migrations=MIGRATIONS)
