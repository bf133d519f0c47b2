"""Saved routing proposals (X-WHATIF-1c): a what-if kept to be replayed again and switched
on in one step by a practice admin.

    POST /api/admin/routing/proposals                  save one (settings, subscriptions)
    GET  /api/admin/routing/proposals                  the practice's, newest first
    POST /api/admin/routing/proposals/{id}/what-if     replay it (X-WHATIF-1, 1a, 1b)
    POST /api/admin/routing/proposals/{id}/apply       switch it on: ONE RoutingProposalApplied

- X-WHATIF-1c  Applying a saved proposal is one change: one event (its id derived from the
  proposal, so a retry is the same event), one settings version and one subscriptions
  version in the router. A proposal is applied at most once (409 after).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import insert, select, update

from switchboard.events import ProposedSubscription, RoutingProposalApplied, deterministic_id
from switchboard.events.internal import router as api
from switchboard.gateway import clients, storage
from switchboard.gateway.app_state import session_of, settings_of
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import admin_only
from switchboard.platform.problems import AUTHED, PEERS, problems

router = APIRouter(prefix="/api", tags=["routing"], responses=AUTHED | PEERS | problems(404, 409))
practice_admin = admin_only("only practice admins manage routing")


class ProposalSubscription(BaseModel):
    staff_id: str = Field(min_length=1, max_length=128)
    reasons: list[str] = Field(default_factory=list, max_length=100)
    locations: list[str] = Field(default_factory=list, max_length=500)
    providers: list[str] = Field(default_factory=list, max_length=500)
    inboxes: list[str] = Field(default_factory=list, max_length=100)


class ProposalBody(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    reason_routing: bool | None = None
    location_routing: bool | None = None
    provider_routing: bool | None = None
    subscriptions: list[ProposalSubscription] | None = Field(default=None, max_length=500)


class Proposal(ProposalBody):
    proposal_id: uuid.UUID
    created_by: str
    created_at: datetime
    applied_by: str | None = None
    applied_at: datetime | None = None
    applied_event_id: uuid.UUID | None = None


async def _check(request: Request, p: Principal, body: ProposalBody) -> None:
    """Staff of this practice, and reasons / locations / providers the router knows."""
    if not body.subscriptions:
        return
    state = await clients.router_answer(request, api.RoutingState, "GET", p.practice_id, "/routing")
    u = storage.users.c
    async with session_of(request) as session:
        staff = set(await session.scalars(select(u.user_id).where(u.practice_id == p.practice_id)))
    known = {
        "reasons": {r.code for r in state.reasons},
        "locations": {x.id for x in state.locations} | {"location_unknown"},
        "providers": {x.id for x in state.providers} | {"provider_unknown"},
    }
    for sub in body.subscriptions:
        if sub.staff_id not in staff:
            raise HTTPException(422, f"unknown staff member {sub.staff_id!r} in this practice")
        for field, allowed in known.items():
            unknown = sorted(set(getattr(sub, field)) - allowed)
            if unknown:
                raise HTTPException(422, f"unknown {field[:-1]} {', '.join(map(repr, unknown))}")


def _proposal(row: Any) -> Proposal:
    return Proposal(
        **row.body,
        proposal_id=row.proposal_id,
        created_by=row.created_by,
        created_at=row.created_at,
        applied_by=row.applied_by,
        applied_at=row.applied_at,
        applied_event_id=row.applied_event_id,
    )


async def _load(request: Request, p: Principal, proposal_id: uuid.UUID) -> Proposal:
    t = storage.routing_proposals.c
    async with session_of(request) as session:
        row = (
            await session.execute(
                select(storage.routing_proposals).where(
                    t.proposal_id == proposal_id, t.practice_id == p.practice_id
                )
            )
        ).first()
    if row is None:
        raise HTTPException(404, "no such proposal in this practice")
    return _proposal(row)


@router.post("/admin/routing/proposals", status_code=201)
async def save_proposal(
    body: ProposalBody, request: Request, p: Annotated[Principal, Depends(practice_admin)]
) -> Proposal:
    """Keep a proposal to replay and apply later (X-WHATIF-1c)."""
    await _check(request, p, body)
    saved = Proposal(
        **body.model_dump(),
        proposal_id=uuid.uuid4(),
        created_by=p.user_id,
        created_at=datetime.now(UTC),
    )
    row = {
        "proposal_id": saved.proposal_id,
        "practice_id": p.practice_id,
        "name": body.name,
        "body": body.model_dump(mode="json"),
        "created_by": saved.created_by,
        "created_at": saved.created_at,
    }
    async with session_of(request) as session, session.begin():
        await session.execute(insert(storage.routing_proposals).values(**row))
    return saved


@router.get("/admin/routing/proposals")
async def list_proposals(
    request: Request, p: Annotated[Principal, Depends(practice_admin)]
) -> list[Proposal]:
    t = storage.routing_proposals.c
    async with session_of(request) as session:
        rows = await session.execute(
            select(storage.routing_proposals)
            .where(t.practice_id == p.practice_id)
            .order_by(t.created_at.desc())
            .limit(200)
        )
    return [_proposal(r) for r in rows]


@router.post("/admin/routing/proposals/{proposal_id}/what-if")
async def proposal_what_if(
    proposal_id: uuid.UUID,
    request: Request,
    p: Annotated[Principal, Depends(practice_admin)],
    days: Annotated[float, Query(gt=0, le=90)] = 7,
) -> Any:
    """Who would have received what under the saved proposal, per person and reason x
    location, chained (X-WHATIF-1, 1a, 1b)."""
    found = await _load(request, p, proposal_id)
    payload = api.WhatIfRequest(
        days=days,
        reason_routing=found.reason_routing,
        location_routing=found.location_routing,
        provider_routing=found.provider_routing,
        subscriptions=None
        if found.subscriptions is None
        else [api.ProposedSubscription(**s.model_dump()) for s in found.subscriptions],
    ).model_dump(mode="json")
    answer = await clients.router_answer(
        request, api.WhatIfReport, "POST", p.practice_id, "/what-if", json=payload
    )
    return clients.relayed(answer)


@router.post("/admin/routing/proposals/{proposal_id}/apply")
async def apply_proposal(
    proposal_id: uuid.UUID,
    request: Request,
    response: Response,
    p: Annotated[Principal, Depends(practice_admin)],
) -> dict[str, Any]:
    """Switch the proposal on as one change (X-WHATIF-1c); 200 once the router applied it,
    202 if it has not yet."""
    found = await _load(request, p, proposal_id)
    if found.applied_at is not None:
        raise HTTPException(409, f"this proposal was applied at {found.applied_at.isoformat()}")
    await _check(request, p, found)
    event_id = deterministic_id(p.practice_id, "proposal-applied", proposal_id)
    now = datetime.now(UTC)
    event = RoutingProposalApplied(
        event_id=event_id,
        correlation_id=event_id,
        occurred_at=now,
        practice_id=p.practice_id,
        actor=p.user_id,
        proposal_id=proposal_id,
        reason_routing=found.reason_routing,
        location_routing=found.location_routing,
        provider_routing=found.provider_routing,
        subscriptions=tuple(
            ProposedSubscription(
                staff_id=s.staff_id,
                reasons=tuple(sorted(set(s.reasons))),
                locations=tuple(sorted(set(s.locations))),
                providers=tuple(sorted(set(s.providers))),
                inboxes=tuple(sorted(set(s.inboxes))),
            )
            for s in found.subscriptions or ()
        ),
    )
    await request.app.state.runtime.publisher.publish([event])
    t = storage.routing_proposals.c
    async with session_of(request) as session, session.begin():
        await session.execute(
            update(storage.routing_proposals)
            .where(t.proposal_id == proposal_id, t.applied_at.is_(None))
            .values(applied_by=p.user_id, applied_at=now, applied_event_id=event_id)
        )
    applied = await _router_applied(request, p.practice_id, event_id)
    if not applied:
        response.status_code = 202
    return {"event_id": str(event_id), "applied": applied}


async def _router_applied(request: Request, practice_id: str, event_id: uuid.UUID) -> bool:
    deadline = time.monotonic() + settings_of(request).apply_wait_s
    path = f"/internal/practices/{practice_id}/config/events/{event_id}"
    while time.monotonic() < deadline:
        try:
            if (
                await clients.of(request).call("router", "GET", path, timeout_s=5)
            ).status_code == 200:
                return True
        except HTTPException:
            pass  # the router is not there right now: ask again until the deadline
        await asyncio.sleep(0.05)
    return False
