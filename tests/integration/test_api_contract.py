"""schemathesis against the gateway's and ingest's published OpenAPI (issue 13): every
operation called with generated requests (a practice admin's token on the gateway), against
the real apps on real PostgreSQL and Kafka, their peers (router, pm-sync, notifier) running
as processes. No answer may be a 5xx, and every answer must be one the schema publishes:
status code, content type and body (errors are RFC 9457 problem details).

Bounded: a few examples an operation, no shrinking (a failure is reported as found)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, settings
from inbox_support import PRACTICE, ServiceProcess, free_port, user
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from switchboard.gateway.app import MIGRATIONS as GATEWAY_MIGRATIONS
from switchboard.gateway.app import build_app as gateway_app
from switchboard.gateway.auth import Principal, issue_token
from switchboard.gateway.settings import GatewaySettings
from switchboard.gateway.users import upsert_users
from switchboard.inbox_projection.app import MIGRATIONS as INBOX_MIGRATIONS
from switchboard.ingest.app import MIGRATIONS as INGEST_MIGRATIONS
from switchboard.ingest.app import build_app as ingest_app
from switchboard.ingest.settings import IngestSettings
from switchboard.platform.internal_api import dev_credentials, internal_app_of, settings_update
from switchboard.platform.kafka import ensure_topics
from switchboard.platform.migrations import upgrade

pytestmark = pytest.mark.integration

SECRET = "contract-jwt-secret-0123456789abcdef0123456789"
ADMIN = user("ct-admin", "practice_admin", ("inbox.full_patient",))
GROUPS = "contract-"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
BOUNDED = settings(
    max_examples=3,
    deadline=None,
    derandomize=True,  # the same requests every run: a failure is reproducible
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


class Served:
    """An ASGI app under uvicorn in a thread of its own (its own event loop, so the app's
    engine and producer live where its requests run), with its lifespan; its internal app
    (if any) on a second port in the same loop, as `switchboard.platform.service.serve` does."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.internal_url = ""
        self.servers = [
            uvicorn.Server(uvicorn.Config(app, port=self.port, log_level="warning", lifespan="on"))
        ]
        internal = internal_app_of(app)
        if internal is not None:
            port = free_port()
            self.internal_url = f"http://127.0.0.1:{port}"
            config = uvicorn.Config(internal, port=port, log_level="warning", lifespan="off")
            self.servers.append(uvicorn.Server(config))
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        public = self.servers[0]
        tasks = [asyncio.create_task(public.serve())]
        while not public.started and not tasks[0].done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        tasks += [asyncio.create_task(s.serve()) for s in self.servers[1:]]
        await asyncio.gather(*tasks)

    def start(self, timeout_s: float = 120) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"{self.url} did not become ready")

    def stop(self) -> None:
        for server in self.servers:
            server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def system(settings, own_db, tmp_path_factory) -> Iterator[dict[str, str]]:
    test_db = own_db
    cfg = settings.model_copy(
        update={"topic_prefix": f"ct{uuid.uuid4().hex[:6]}.", "database_url": test_db}
    )
    asyncio.run(ensure_topics(cfg))
    for migrations in (INBOX_MIGRATIONS, GATEWAY_MIGRATIONS, INGEST_MIGRATIONS):
        upgrade(migrations, test_db)
    upsert_users(test_db, [ADMIN])
    credentials = dev_credentials()
    peers = {
        "router": ServiceProcess("router", cfg, GROUPS, **credentials["router"]),
        "pm-sync": ServiceProcess(
            "pm-sync",
            cfg,
            GROUPS,
            **credentials["pm-sync"],
            SWITCHBOARD_MLLP_ENABLED="false",
            SWITCHBOARD_FHIR_PRACTICES="[]",
        ),
        "notifier": ServiceProcess("notifier", cfg, GROUPS, **credentials["notifier"]),
    }
    served: list[Served] = []
    try:
        # started side by side: each spends most of its start-up importing
        with ThreadPoolExecutor(len(peers)) as pool:
            list(pool.map(lambda p: p.start(timeout_s=240), peers.values()))
        ingest = Served(
            ingest_app(
                IngestSettings(
                    service_name="ingest",
                    kafka_bootstrap=cfg.kafka_bootstrap,
                    database_url=test_db,
                    topic_prefix=cfg.topic_prefix,
                    consumer_group_prefix=GROUPS,
                    attachment_dir=str(tmp_path_factory.mktemp("attachments")),
                    twilio_auth_token="ct-twilio-token",
                    email_webhook_secret=SecretStr("ct-mail-secret-0123456789abcdef"),
                    practices=[PRACTICE],
                    smtp_listen_port=None,
                    pm_sync_url=peers["pm-sync"].internal_url,
                    router_url=peers["router"].internal_url,
                    **settings_update(credentials["ingest"]),
                )
            )
        )
        served.append(ingest)
        ingest.start()
        gateway = Served(
            gateway_app(
                GatewaySettings(
                    service_name="gateway",
                    kafka_bootstrap=cfg.kafka_bootstrap,
                    database_url=test_db,
                    topic_prefix=cfg.topic_prefix,
                    jwt_secret=SECRET,
                    router_url=peers["router"].internal_url,
                    pm_sync_url=peers["pm-sync"].internal_url,
                    notifier_url=peers["notifier"].internal_url,
                    ingest_url=ingest.internal_url,
                    **settings_update(credentials["gateway"]),
                )
            )
        )
        served.append(gateway)
        gateway.start()
        yield {"gateway": gateway.url, "ingest": ingest.url}
    finally:
        for s in reversed(served):
            s.stop()
        for p in peers.values():
            p.stop()


def admin_headers() -> dict[str, str]:
    p = Principal(ADMIN["user_id"], PRACTICE, "practice_admin", frozenset(ADMIN["policies"]))
    return {"Authorization": f"Bearer {issue_token(p, SECRET, 3600)}"}


# The schemas as the apps publish them (building an app connects to nothing); the calls go
# to the running apps. (schemathesis.pytest.from_fixture needs pytest < 9.)
gateway_schema = schemathesis.openapi.from_dict(gateway_app(GatewaySettings()).openapi())
ingest_schema = schemathesis.openapi.from_dict(ingest_app(IngestSettings()).openapi())


@gateway_schema.parametrize()
@BOUNDED
def test_gateway_answers_as_published(case, system):
    case.call_and_validate(
        base_url=system["gateway"], headers=admin_headers(), checks=CHECKS, timeout=30
    )


@ingest_schema.parametrize()
@BOUNDED
def test_ingest_answers_as_published(case, system):
    case.call_and_validate(base_url=system["ingest"], checks=CHECKS, timeout=30)
