"""ingest: the channel edge. Wiring only."""

from __future__ import annotations

from fastapi import FastAPI

from switchboard.ingest.settings import IngestSettings
from switchboard.ingest.webhooks import router
from switchboard.platform.service import main_for, service_app
from switchboard.platform.settings import ServiceSettings


def build_app(settings: ServiceSettings) -> FastAPI:
    assert isinstance(settings, IngestSettings)
    app = service_app(settings, title="Switchboard ingest", database=False)
    app.state.settings = settings
    app.include_router(router)
    return app


main = main_for("ingest", IngestSettings, build_app)
