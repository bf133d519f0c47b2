"""pm-sync: wiring only. Its capability is built in its own issue; today it runs, reports
health and connects to Kafka, so the supervisor and deploy manifests are complete."""

from __future__ import annotations

from fastapi import FastAPI

from switchboard.platform.service import main_for, service_app
from switchboard.platform.settings import ServiceSettings
from switchboard.pm_sync.settings import PmSyncSettings


def build_app(settings: ServiceSettings) -> FastAPI:
    return service_app(settings, title="Switchboard pm-sync", database=False)


main = main_for("pm-sync", PmSyncSettings, build_app)
