"""pm-sync: wiring. Three things run in one process:

* the HL7 v2 listener (MLLP, `SWITCHBOARD_MLLP_PORT`): SIU / ADT -> events, ACK `AA` only
  after Kafka acknowledged them (acks=all); messages pipelined on a connection are
  published together;
* one FHIR R4 poller per practice in `SWITCHBOARD_FHIR_PRACTICES` (fhir_sync.py);
* the consumer of its own `switchboard.pm` events into schema pm_sync, which the internal
  read endpoints (internal_api.py) answer from;
* when a practice there publishes Communications (X-FHIR-2), the consumer group
  `pm-sync-fhir-out` (fhir_out.py) writing messages and replies to its FHIR server.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from fastapi import FastAPI
from prometheus_client import Counter

from switchboard.events import Topic
from switchboard.platform.consumer import ConsumerRunner
from switchboard.platform.http import NotReady
from switchboard.platform.logging import get_logger
from switchboard.platform.service import Runtime, consumer_for, main_for, service_app
from switchboard.platform.settings import ServiceSettings
from switchboard.pm_sync.adapters import storage
from switchboard.pm_sync.adapters.mllp import MLLPServer
from switchboard.pm_sync.adapters.parse_pool import ParsePool
from switchboard.pm_sync.adapters.read_model import handle_batch
from switchboard.pm_sync.domain.hl7_message import HL7Error
from switchboard.pm_sync.entrypoints import internal_api
from switchboard.pm_sync.entrypoints.fhir_out import FHIR_OUT_TOPICS, FhirOut
from switchboard.pm_sync.entrypoints.fhir_sync import FhirSync
from switchboard.pm_sync.entrypoints.hl7_intake import hl7_batch_callback
from switchboard.pm_sync.settings import PmSyncSettings

MIGRATIONS = Path(__file__).parent.parent / "migrations"
log = get_logger(__name__)

HL7_REJECTED = Counter(
    "switchboard_pm_hl7_rejected_total", "HL7 messages answered AE / AR", ["code"]
)

consumers = consumer_for("pm-sync", [Topic.PM], handle_batch, storage.processed)


def fhir_out_consumer(rt: Runtime, fhir_out: FhirOut) -> ConsumerRunner:
    return ConsumerRunner(
        name="pm-sync-fhir-out",
        topics=FHIR_OUT_TOPICS,
        handler=fhir_out.handle,
        settings=rt.settings,
        sessionmaker=rt.sessionmaker,
        processed=storage.processed,
        publisher=rt.publisher,
    )


def _hl7_rejected(err: HL7Error) -> None:
    # The reason names segment and field only (never a value): safe to log.
    HL7_REJECTED.labels(err.code).inc()
    log.warning(
        "hl7_rejected",
        ack_code=err.code,
        location=err.location,
        reason=err.reason,
        control_id=err.control_id,
    )


def build_app(settings: ServiceSettings) -> FastAPI:
    cfg = cast(PmSyncSettings, settings)

    def all_consumers(rt: Runtime) -> list[ConsumerRunner]:
        runners = list(consumers(rt))
        fhir_out: FhirOut | None = app.state.fhir_out
        if fhir_out is not None and fhir_out.enabled:  # no group when no practice publishes
            runners.append(fhir_out_consumer(rt, fhir_out))
        return runners

    async def on_start(app: FastAPI, rt: Runtime) -> None:
        app.state.fhir = FhirSync(cfg, rt.publisher, rt.sessionmaker)
        app.state.fhir_out = FhirOut(cfg, rt.publisher)
        app.state.mllp = None
        app.state.parse_pool = None
        if cfg.mllp_enabled:
            pool = ParsePool(
                cfg.hl7_practice_id,
                cfg.default_timezone,
                workers=cfg.hl7_parse_workers,
                min_batch=cfg.hl7_parse_min_batch,
            )
            await pool.start()
            app.state.parse_pool = pool
            callback = hl7_batch_callback(
                cfg.hl7_practice_id,
                rt.publisher.publish,
                default_tz=cfg.default_timezone,
                on_error=_hl7_rejected,
                parse=pool,
            )
            server = MLLPServer(
                on_batch=callback,
                host=cfg.mllp_host,
                port=cfg.mllp_port,
                max_batch=cfg.mllp_max_batch,
            )
            await server.start()
            app.state.mllp = server
        app.state.fhir.start()

    async def on_stop(app: FastAPI, rt: Runtime) -> None:
        if app.state.mllp is not None:
            await app.state.mllp.close()
        if app.state.parse_pool is not None:
            await app.state.parse_pool.close()
        await app.state.fhir.stop()
        # its consumer stops after on_stop: the client stays open for the batch it holds

    async def mllp_ready() -> bool:
        server: MLLPServer | None = app.state.mllp
        if server is None:
            return True  # disabled
        if not server.serving:
            raise NotReady("MLLP listener is not accepting connections")
        return True

    async def fhir_ready() -> bool:
        fhir: FhirSync = app.state.fhir
        return await fhir.ready()

    app = service_app(
        cfg,
        consumers=all_consumers,
        on_start=on_start,
        on_stop=on_stop,
        extra_checks={"mllp": mllp_ready, "fhir": fhir_ready},
        title="Switchboard pm-sync",
        internal=[internal_api.router],
    )
    app.state.settings = cfg
    return app


main = main_for("pm-sync", PmSyncSettings, build_app, migrations=MIGRATIONS)
