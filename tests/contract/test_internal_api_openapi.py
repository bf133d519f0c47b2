"""Every internal API route declares its answer's model (switchboard.events.internal), so the
internal listeners' OpenAPI is typed; the one exception answers bytes (a stored file)."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI

from switchboard.ingest.entrypoints import internal as ingest_internal
from switchboard.ingest.entrypoints import staff_files
from switchboard.notifier import event_webhooks_api as notifier_event_webhooks
from switchboard.notifier import internal as notifier_internal
from switchboard.pm_sync.entrypoints import internal_api as pm_sync_api
from switchboard.router import api as router_api

INTERNAL: dict[str, list[APIRouter]] = {
    "router": [router_api.router],
    "pm-sync": [pm_sync_api.router],
    "ingest": [ingest_internal.router, staff_files.router],
    "notifier": [notifier_internal.router, notifier_event_webhooks.router],
}
UNTYPED = {("ingest", "get", "/internal/practices/{practice}/attachments")}  # bytes


def _operations(service: str):
    app = FastAPI()
    for router in INTERNAL[service]:
        app.include_router(router)
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            yield method, path, op


@pytest.mark.parametrize("service", sorted(INTERNAL))
def test_every_internal_route_answers_a_declared_model(service):
    untyped = []
    for method, path, op in _operations(service):
        ok = op["responses"].get("200") or op["responses"].get("202") or {}
        schema = ok.get("content", {}).get("application/json", {}).get("schema", {})
        typed = "$ref" in schema or "$ref" in schema.get("items", {})
        if not typed and (service, method, path) not in UNTYPED:
            untyped.append(f"{method.upper()} {path}")
    assert untyped == []


def test_the_what_if_body_is_the_shared_request_model():
    ops = {(m, p): op for m, p, op in _operations("router")}
    body = ops[("post", "/internal/practices/{practice_id}/what-if")]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/WhatIfRequest")
