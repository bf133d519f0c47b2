"""Event webhooks, for practice admins (issue 16, ADR 0022): endpoints subscribed to public
event types, their delivery log, resume, secret rotation and redelivery from a point in time.

The notifier holds the endpoints and sends the events; these routes check the caller is a
practice admin and pass the call to the notifier's internal API for the caller's own practice
(T-1: an endpoint of another practice is a 404 there). The notifier's 404 and 422 (with their
reason: a non-https URL in production, an unknown type) pass through; its other failures
are a 502. A new or rotated secret is in that one answer only.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from switchboard.events.internal.notifier import (
    EventWebhookDeliveries,
    EventWebhookEndpoint,
    EventWebhookEndpointCreated,
    EventWebhookEndpointIn,
    EventWebhookEndpoints,
    EventWebhookRedeliver,
    EventWebhookRedelivered,
)
from switchboard.events.public import content_type_names, public_type_names
from switchboard.gateway import clients
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import admin_only
from switchboard.platform.problems import AUTHED, PEERS, problems

router = APIRouter(
    prefix="/api/admin/event-webhooks",
    tags=["event webhooks"],
    responses=AUTHED | PEERS | problems(404),
)
Admin = Annotated[Principal, Depends(admin_only("only a practice admin may manage event webhooks"))]
M = TypeVar("M", bound=BaseModel)


class EventWebhooksOut(BaseModel):
    """The practice's endpoints, and the public event types one may subscribe to
    (`content_types`: those carrying patient data)."""

    endpoints: list[EventWebhookEndpoint]
    event_types: list[str]
    content_types: list[str]


async def _notifier(
    request: Request, p: Principal, model: type[M], method: str, path: str = "", **kw: Any
) -> M:
    peers = clients.of(request)
    response = await peers.call(
        "notifier", method, f"/internal/practices/{p.practice_id}/event-webhooks{path}", **kw
    )
    if response.status_code in (404, 422):
        raise HTTPException(response.status_code, _reason(response))
    if response.status_code >= 400:
        raise peers.failed("notifier", response)
    return peers.parsed("notifier", model, response.json())


def _reason(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return "refused by the notification service"
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail) if detail else "refused by the notification service"


@router.get("")
async def list_endpoints(request: Request, p: Admin) -> EventWebhooksOut:
    found = await _notifier(request, p, EventWebhookEndpoints, "GET")
    return EventWebhooksOut(
        endpoints=found.endpoints,
        event_types=list(public_type_names()),
        content_types=list(content_type_names()),
    )


@router.post("", status_code=201)
async def add_endpoint(
    body: EventWebhookEndpointIn, request: Request, p: Admin
) -> EventWebhookEndpointCreated:
    return await _notifier(
        request, p, EventWebhookEndpointCreated, "POST", json=body.model_dump(mode="json")
    )


@router.put("/{endpoint_id}")
async def change_endpoint(
    endpoint_id: uuid.UUID, body: EventWebhookEndpointIn, request: Request, p: Admin
) -> EventWebhookEndpoint:
    return await _notifier(
        request, p, EventWebhookEndpoint, "PUT", f"/{endpoint_id}", json=body.model_dump()
    )


@router.delete("/{endpoint_id}")
async def remove_endpoint(
    endpoint_id: uuid.UUID, request: Request, p: Admin
) -> EventWebhookEndpoint:
    return await _notifier(request, p, EventWebhookEndpoint, "DELETE", f"/{endpoint_id}")


@router.post("/{endpoint_id}/resume")
async def resume_endpoint(
    endpoint_id: uuid.UUID, request: Request, p: Admin
) -> EventWebhookEndpoint:
    return await _notifier(request, p, EventWebhookEndpoint, "POST", f"/{endpoint_id}/resume")


@router.post("/{endpoint_id}/rotate-secret")
async def rotate_secret(
    endpoint_id: uuid.UUID, request: Request, p: Admin
) -> EventWebhookEndpointCreated:
    return await _notifier(
        request, p, EventWebhookEndpointCreated, "POST", f"/{endpoint_id}/rotate-secret"
    )


@router.post("/{endpoint_id}/redeliver")
async def redeliver(
    endpoint_id: uuid.UUID, body: EventWebhookRedeliver, request: Request, p: Admin
) -> EventWebhookRedelivered:
    return await _notifier(
        request,
        p,
        EventWebhookRedelivered,
        "POST",
        f"/{endpoint_id}/redeliver",
        json=body.model_dump(mode="json"),
    )


@router.get("/{endpoint_id}/deliveries")
async def deliveries(
    endpoint_id: uuid.UUID,
    request: Request,
    p: Admin,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EventWebhookDeliveries:
    return await _notifier(
        request,
        p,
        EventWebhookDeliveries,
        "GET",
        f"/{endpoint_id}/deliveries",
        params={"limit": limit},
    )
