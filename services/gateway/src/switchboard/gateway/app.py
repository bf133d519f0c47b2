"""gateway: the staff-facing service. Wiring only."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

from fastapi import FastAPI

from switchboard.gateway.clients import Peers
from switchboard.gateway.routes import (
    conversations,
    documents,
    inbox_views,
    live,
    pages,
    patients,
    search,
    staff_directory,
)
from switchboard.gateway.routes.actions import router as actions_router
from switchboard.gateway.routes.ehr import router as ehr_router
from switchboard.gateway.routes.lines import router as lines_router
from switchboard.gateway.routes.my_routing import router as my_routing_router
from switchboard.gateway.routes.notify_admin import router as notify_router
from switchboard.gateway.routes.routing_admin import admin
from switchboard.gateway.routes.sign_in import router
from switchboard.gateway.routes.templates import router as templates_router
from switchboard.gateway.settings import GatewaySettings
from switchboard.gateway.users import load_users_file, upsert_users
from switchboard.platform.service import Runtime, main_for, service_app
from switchboard.platform.settings import ServiceSettings
from switchboard.platform.textguard import install_edge

MIGRATIONS = Path(__file__).parent / "migrations"


async def _stop(app: FastAPI, rt: Runtime) -> None:
    try:
        await live.stop(app, rt)
    finally:
        await app.state.peers.aclose()


def build_app(settings: ServiceSettings) -> FastAPI:
    hub = live.Hub()
    app = service_app(
        settings,
        title="Switchboard gateway",
        on_start=live.start,
        on_stop=_stop,
        extra_checks={"live_relay": hub.is_ready},
        # Staff read the inbox from PostgreSQL: a Kafka outage must not take the UI down
        # (its writes answer 503 meanwhile, and the live relay catches up after).
        reads_without_kafka=True,
        optional_checks=["live_relay"],
    )
    app.state.settings = settings
    app.state.hub = hub
    install_edge(app)
    # The other services' internal APIs, over one client (its connections are reused).
    app.state.peers = Peers(cast(GatewaySettings, settings))
    app.include_router(router)
    for module in (inbox_views, search, conversations, patients, staff_directory, documents):
        app.include_router(module.router)
    app.include_router(actions_router)
    app.include_router(ehr_router)
    app.include_router(notify_router)
    app.include_router(admin)
    app.include_router(lines_router)
    app.include_router(templates_router)
    app.include_router(my_routing_router)
    app.include_router(live.live)
    pages.mount(app)
    return app


_serve = main_for("gateway", GatewaySettings, build_app, migrations=MIGRATIONS)


def main(argv: list[str] | None = None) -> None:
    """`switchboard-gateway [run|migrate]` or `switchboard-gateway load-users FILE`."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["load-users"] and len(args) == 2:
        count = upsert_users(GatewaySettings().database_url, load_users_file(Path(args[1])))
        print(f"loaded {count} users")
        return
    _serve(args)
