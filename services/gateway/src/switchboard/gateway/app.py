"""gateway: the staff-facing service. Wiring only."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

from fastapi import FastAPI

from switchboard.gateway import live_relay, staff_access_sync
from switchboard.gateway.clients import Peers
from switchboard.gateway.routes import (
    actions,
    api_clients,
    conversations,
    documents,
    ehr,
    event_docs,
    event_webhooks,
    inbox_views,
    lines,
    live,
    my_routing,
    notify_admin,
    oauth_token,
    pages,
    patients,
    reason_menu_admin,
    reports,
    routing_admin,
    routing_proposals,
    routing_story,
    search,
    settings_admin,
    sign_in,
    staff_directory,
    teamwork,
    templates,
)
from switchboard.gateway.settings import GatewaySettings
from switchboard.gateway.users import load_users_file, upsert_users
from switchboard.platform.service import Runtime, main_for, service_app
from switchboard.platform.settings import ServiceSettings
from switchboard.platform.textguard import install_edge

MIGRATIONS = Path(__file__).parent / "migrations"
# Every route module, in the order their routes are matched (pages, with the static files,
# last).
ROUTES = (
    sign_in,
    oauth_token,
    inbox_views,
    search,
    conversations,
    patients,
    staff_directory,
    documents,
    actions,
    teamwork,
    ehr,
    notify_admin,
    event_webhooks,
    api_clients,
    routing_admin,
    reason_menu_admin,
    routing_proposals,
    routing_story,
    lines,
    templates,
    settings_admin,
    my_routing,
    reports,
    live,
    event_docs,
)


async def _start(app: FastAPI, rt: Runtime) -> None:
    await live_relay.start(app, rt)
    await staff_access_sync.start(app, rt)  # X-ASOF-1a: configured access onto the log


async def _stop(app: FastAPI, rt: Runtime) -> None:
    try:
        await staff_access_sync.stop(app)
        await live_relay.stop(app, rt)
    finally:
        await app.state.peers.aclose()


def build_app(settings: ServiceSettings) -> FastAPI:
    hub = live_relay.Hub()
    app = service_app(
        settings,
        title="Switchboard gateway",
        on_start=_start,
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
    for module in ROUTES:
        app.include_router(module.router)
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
