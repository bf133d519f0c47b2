"""router: decides where each message goes. Wiring only."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from switchboard.events import Topic
from switchboard.platform.due_events import DueEvents
from switchboard.platform.service import Runtime, consumer_for, main_for, service_app
from switchboard.platform.settings import ServiceSettings
from switchboard.router import storage
from switchboard.router.api import router as internal_api
from switchboard.router.handlers import handle_batch
from switchboard.router.menu_timer import menu_timer
from switchboard.router.settings import RouterSettings

MIGRATIONS = Path(__file__).parent / "migrations"

# Messages to route; PM, configuration, staff actions and replies sent: the state routing reads.
consumers = consumer_for(
    "router",
    [Topic.MESSAGES, Topic.PM, Topic.CONFIG, Topic.ACTIONS, Topic.DELIVERY],
    handle_batch,
    storage.processed,
)


def _start_menu_timer(app: FastAPI, rt: Runtime) -> None:
    """The reason menu's timer (menu_timer.py, X-MENU-4) runs beside the consumer."""
    every = getattr(rt.settings, "menu_timer_every_s", 1.0)
    app.state.menu_timer = menu_timer(rt.sessionmaker, rt.publisher, every_s=every).start()


async def _stop_menu_timer(app: FastAPI, rt: Runtime) -> None:
    timer: DueEvents | None = getattr(app.state, "menu_timer", None)
    if timer is not None:
        await timer.stop()


def build_app(settings: ServiceSettings) -> FastAPI:
    app = service_app(
        settings,
        consumers=consumers,
        title="Switchboard router",
        internal=[internal_api],
        on_start=_start_menu_timer,
        on_stop=_stop_menu_timer,
    )
    app.state.settings = settings
    return app


main = main_for("router", RouterSettings, build_app, migrations=MIGRATIONS)
