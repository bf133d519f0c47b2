"""router: decides where each message goes. Wiring only."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from switchboard.events import Topic
from switchboard.platform.service import consumer_for, main_for, service_app
from switchboard.platform.settings import ServiceSettings
from switchboard.router import storage
from switchboard.router.api import router as internal_api
from switchboard.router.handlers import handle_batch
from switchboard.router.settings import RouterSettings

MIGRATIONS = Path(__file__).parent / "migrations"

# Messages to route; PM, configuration, staff actions and replies sent: the state routing reads.
consumers = consumer_for(
    "router",
    [Topic.MESSAGES, Topic.PM, Topic.CONFIG, Topic.ACTIONS, Topic.DELIVERY],
    handle_batch,
    storage.processed,
)


def build_app(settings: ServiceSettings) -> FastAPI:
    app = service_app(
        settings, consumers=consumers, title="Switchboard router", internal=[internal_api]
    )
    app.state.settings = settings
    return app


main = main_for("router", RouterSettings, build_app, migrations=MIGRATIONS)
