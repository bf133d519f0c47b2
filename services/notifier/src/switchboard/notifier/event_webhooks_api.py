"""Event webhooks' internal API, for the gateway (its practice admins; T-1: the gateway scopes
every call to the caller's practice). Served on the internal listener only.

    GET    /internal/practices/{p}/event-webhooks                     the endpoints
    POST   /internal/practices/{p}/event-webhooks                     add one (secret shown once)
    PUT    /internal/practices/{p}/event-webhooks/{id}                change url, types, text
    DELETE /internal/practices/{p}/event-webhooks/{id}                remove it and its log
    POST   /internal/practices/{p}/event-webhooks/{id}/resume         un-pause
    POST   /internal/practices/{p}/event-webhooks/{id}/rotate-secret  a new secret, shown once
    POST   /internal/practices/{p}/event-webhooks/{id}/redeliver      again, since a time
    GET    /internal/practices/{p}/event-webhooks/{id}/deliveries     the delivery log

An endpoint's URL must be https in production (event_webhooks.url_problem); a type must be a
public event type. URLs and payloads are never logged.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events.internal.notifier import (
    EventWebhookDeliveries,
    EventWebhookEndpoint,
    EventWebhookEndpointCreated,
    EventWebhookEndpointIn,
    EventWebhookEndpoints,
    EventWebhookRedeliver,
    EventWebhookRedelivered,
)
from switchboard.events.public import public_type_names
from switchboard.notifier import storage
from switchboard.notifier.event_webhooks import new_secret, url_problem
from switchboard.notifier.public_handlers import delivery_id

router = APIRouter(prefix="/internal/practices/{practice}/event-webhooks")
Practice = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]
ep = storage.event_endpoints
dl = storage.event_deliveries

_SHOWN = (
    ep.c.endpoint_id,
    ep.c.url,
    ep.c.description,
    ep.c.event_types,
    ep.c.status,
    ep.c.paused_reason,
    ep.c.consecutive_failures,
    ep.c.created_at,
    ep.c.updated_at,
)


def _checked(request: Request, body: EventWebhookEndpointIn) -> list[str]:
    problem = url_problem(body.url, request.app.state.runtime.settings.env)
    if problem:
        raise HTTPException(422, f"url: {problem}")
    known = public_type_names()
    unknown = sorted(set(body.event_types) - set(known))
    if unknown:
        raise HTTPException(422, f"unknown event types {unknown}; known: {list(known)}")
    return [t for t in known if t in body.event_types]  # one order, no repeats


async def _one(session: AsyncSession, practice: str, endpoint_id: uuid.UUID) -> dict[str, Any]:
    row = (
        (
            await session.execute(
                select(*_SHOWN).where(ep.c.practice_id == practice, ep.c.endpoint_id == endpoint_id)
            )
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise HTTPException(404, "no such event webhook endpoint")
    return dict(row)


def _session(request: Request) -> AsyncSession:
    session: AsyncSession = request.app.state.runtime.sessionmaker()
    return session


@router.get("", response_model=EventWebhookEndpoints)
async def list_endpoints(practice: Practice, request: Request) -> dict[str, Any]:
    async with _session(request) as session:
        rows = await session.execute(
            select(*_SHOWN).where(ep.c.practice_id == practice).order_by(ep.c.created_at)
        )
        return {"endpoints": [dict(r) for r in rows.mappings()]}


@router.post("", response_model=EventWebhookEndpointCreated)
async def add_endpoint(
    practice: Practice, body: EventWebhookEndpointIn, request: Request
) -> dict[str, Any]:
    types = _checked(request, body)
    endpoint_id = uuid.uuid4()
    secret = new_secret()
    async with _session(request) as session, session.begin():
        await session.execute(
            insert(ep).values(
                endpoint_id=endpoint_id,
                practice_id=practice,
                url=body.url,
                secret=secret,
                description=body.description,
                event_types=types,
            )
        )
        return await _one(session, practice, endpoint_id) | {"secret": secret}


@router.put("/{endpoint_id}", response_model=EventWebhookEndpoint)
async def change_endpoint(
    practice: Practice, endpoint_id: uuid.UUID, body: EventWebhookEndpointIn, request: Request
) -> dict[str, Any]:
    types = _checked(request, body)
    async with _session(request) as session, session.begin():
        await _one(session, practice, endpoint_id)
        await session.execute(
            update(ep)
            .where(ep.c.endpoint_id == endpoint_id)
            .values(
                url=body.url, event_types=types, description=body.description, updated_at=_now()
            )
        )
        return await _one(session, practice, endpoint_id)


@router.delete("/{endpoint_id}", response_model=EventWebhookEndpoint)
async def remove_endpoint(
    practice: Practice, endpoint_id: uuid.UUID, request: Request
) -> dict[str, Any]:
    async with _session(request) as session, session.begin():
        gone = await _one(session, practice, endpoint_id)
        await session.execute(
            delete(storage.event_attempts).where(
                storage.event_attempts.c.endpoint_id == endpoint_id
            )
        )
        await session.execute(delete(dl).where(dl.c.endpoint_id == endpoint_id))
        await session.execute(delete(ep).where(ep.c.endpoint_id == endpoint_id))
        return gone


@router.post("/{endpoint_id}/resume", response_model=EventWebhookEndpoint)
async def resume_endpoint(
    practice: Practice, endpoint_id: uuid.UUID, request: Request
) -> dict[str, Any]:
    """Active again, failures forgotten; what was due is sent at once, oldest first."""
    async with _session(request) as session, session.begin():
        await _one(session, practice, endpoint_id)
        await session.execute(
            update(ep)
            .where(ep.c.endpoint_id == endpoint_id)
            .values(status="active", paused_reason=None, consecutive_failures=0, updated_at=_now())
        )
        await session.execute(
            update(dl)
            .where(dl.c.endpoint_id == endpoint_id, dl.c.status == "pending")
            .values(next_attempt_at=func.now())
        )
        return await _one(session, practice, endpoint_id)


@router.post("/{endpoint_id}/rotate-secret", response_model=EventWebhookEndpointCreated)
async def rotate_secret(
    practice: Practice, endpoint_id: uuid.UUID, request: Request
) -> dict[str, Any]:
    secret = new_secret()
    async with _session(request) as session, session.begin():
        await _one(session, practice, endpoint_id)
        await session.execute(
            update(ep)
            .where(ep.c.endpoint_id == endpoint_id)
            .values(secret=secret, updated_at=_now())
        )
        return await _one(session, practice, endpoint_id) | {"secret": secret}


@router.post("/{endpoint_id}/redeliver", response_model=EventWebhookRedelivered)
async def redeliver(
    practice: Practice, endpoint_id: uuid.UUID, body: EventWebhookRedeliver, request: Request
) -> dict[str, Any]:
    """Queue again every stored public event of the endpoint's types that happened at or
    after `since`, in their original order, behind whatever is still queued. Each keeps its
    `webhook-id` (the event id): a receiver that has it already drops it."""
    if body.since.tzinfo is None:
        raise HTTPException(422, "since: a time with an offset (RFC 3339)")
    request_part = uuid.uuid4().hex  # this request's copies are new deliveries
    pe = storage.public_events
    async with _session(request) as session, session.begin():
        endpoint = await _one(session, practice, endpoint_id)
        events = (
            await session.execute(
                select(pe.c.event_id, pe.c.conversation_id, pe.c.event_type, pe.c.occurred_at)
                .where(
                    pe.c.practice_id == practice,
                    pe.c.occurred_at >= body.since,
                    pe.c.event_type.in_(endpoint["event_types"]),
                )
                .order_by(pe.c.seq)
            )
        ).all()
        if events:
            await session.execute(
                insert(dl).values(
                    [
                        {
                            "delivery_id": delivery_id(endpoint_id, e.event_id, request_part),
                            "endpoint_id": endpoint_id,
                            "practice_id": practice,
                            "conversation_id": e.conversation_id,
                            "event_id": e.event_id,
                            "event_type": e.event_type,
                            "occurred_at": e.occurred_at,
                            "redelivery": True,
                        }
                        for e in events
                    ]
                )
            )
    return {"queued": len(events)}


@router.get("/{endpoint_id}/deliveries", response_model=EventWebhookDeliveries)
async def deliveries(
    practice: Practice,
    endpoint_id: uuid.UUID,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """The newest deliveries first."""
    async with _session(request) as session:
        await _one(session, practice, endpoint_id)
        rows = await session.execute(
            select(
                dl.c.delivery_id,
                dl.c.event_id,
                dl.c.event_type,
                dl.c.conversation_id,
                dl.c.occurred_at,
                dl.c.status,
                dl.c.attempts,
                dl.c.last_status,
                dl.c.last_error,
                dl.c.next_attempt_at,
                dl.c.delivered_at,
                dl.c.redelivery,
            )
            .where(dl.c.endpoint_id == endpoint_id)
            .order_by(dl.c.seq.desc())
            .limit(limit)
        )
        return {"deliveries": [dict(r) for r in rows.mappings()]}


def _now() -> datetime:
    return datetime.now(UTC)
