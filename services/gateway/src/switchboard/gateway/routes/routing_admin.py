"""Routing administration (T-2: practice admins) and routing explanations (X-EXPLAIN-1).

A change is validated here against what the router knows (the catalogue, the locations and
providers from the PM system) and the practice's staff, appended to the log as one event
naming who made it, and answered once the router has applied it (read-your-writes), or with
202 and the event id when that takes longer than `apply_wait_s`. Reads go to the router's
internal API, always for the caller's own practice (T-1).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import insert, select

from switchboard.events import (
    AutoAssignPolicySet,
    ReasonAdded,
    ReasonDescribed,
    RoutingSettingsChanged,
    StaffSubscriptionsSet,
    VoicemailExtensionMapped,
)
from switchboard.events.internal import router as api
from switchboard.gateway import clients, storage
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import admin_only, inbox_user, principal
from switchboard.gateway.config_append import append_and_wait, envelope
from switchboard.gateway.conversation_access import (
    Caller,
    VisibleConversation,
    conversation_access_if_given,
)
from switchboard.platform.problems import AUTHED, PEERS, problems
from switchboard.rules.boxes import UNASSIGNED

router = APIRouter(
    prefix="/api",
    tags=["routing administration"],
    responses=AUTHED | PEERS | problems(404, 409),
)

SHARED_INBOX = re.compile(r"^shared:[a-z0-9][a-z0-9_-]{0,62}$")
LOCATION_UNKNOWN, PROVIDER_UNKNOWN = "location_unknown", "provider_unknown"


practice_admin = admin_only("only practice admins manage routing")


def platform_operator(p: Annotated[Principal, Depends(principal)]) -> Principal:
    if p.role != "platform_operator":
        raise HTTPException(403, "only platform operators add reasons")
    return p


async def _staff_ids(request: Request, practice_id: str) -> set[str]:
    u = storage.users.c
    async with request.app.state.runtime.sessionmaker() as session:
        rows = await session.scalars(select(u.user_id).where(u.practice_id == practice_id))
        return set(rows)


# --- reads ----------------------------------------------------------------------------


@router.get("/admin/routing")
async def routing_state(
    request: Request, p: Annotated[Principal, Depends(practice_admin)]
) -> dict[str, Any]:
    """Settings, subscriptions, catalogue, locations and providers, and the staff."""
    state = await clients.router_answer(request, api.RoutingState, "GET", p.practice_id, "/routing")
    body = clients.relayed(state)
    u = storage.users.c
    async with request.app.state.runtime.sessionmaker() as session:
        rows = await session.execute(
            select(u.user_id, u.display_name, u.role)
            .where(u.practice_id == p.practice_id)
            .order_by(u.display_name)
        )
        body["staff"] = [dict(r) for r in rows.mappings()]
    return body


@router.get("/admin/routing/coverage")
async def coverage(request: Request, p: Annotated[Principal, Depends(practice_admin)]) -> Any:
    """Every reason x location nobody would receive (X-COVERAGE-1)."""
    return clients.relayed(
        await clients.router_answer(request, api.Coverage, "GET", p.practice_id, "/coverage")
    )


@router.get("/admin/routing/history")
async def history(
    request: Request,
    p: Annotated[Principal, Depends(practice_admin)],
    at: datetime | None = None,
    staff_id: Annotated[str | None, Query(max_length=128)] = None,
) -> Any:
    """Settings and subscriptions as they stood at `at`, with every change (X-ASOF-1)."""
    params: dict[str, str] = {}
    if at is not None:
        params["at"] = at.isoformat()
    if staff_id is not None:
        params["staff_id"] = staff_id
    answer = await clients.router_answer(
        request, api.ConfigHistory, "GET", p.practice_id, "/config/history", params=params
    )
    return clients.relayed(answer)


@router.get("/routing/reasons")
async def reasons_offered(
    request: Request,
    # first: another practice's conversation is a 404 whoever asks (T-1)
    seen: Annotated[dict[str, Any] | None, Depends(conversation_access_if_given)],
    p: Annotated[Principal, Depends(inbox_user)],
    conversation_id: uuid.UUID | None = None,
) -> Any:
    """The reasons patients are offered now (R-REASON-2), and whether this conversation
    would show the picker (R-REASON-3): a conversation the caller may read. `catalogue` is
    every reason with its label (R-REASON-1), which the inbox names reasons from."""
    params = {"conversation_id": str(conversation_id)} if conversation_id else {}
    answer = await clients.router_answer(
        request, api.ReasonsOffer, "GET", p.practice_id, "/reasons", params=params
    )
    return clients.relayed(answer)


@router.get("/conversations/{conversation_id}/routing")
async def explain(
    conversation_id: uuid.UUID,
    request: Request,
    p: Caller,
    seen: VisibleConversation,
    staff_id: str | None = None,
) -> Any:
    """Why each message of the conversation went where it went, and, with `staff_id`, why
    that person did or did not receive it (X-EXPLAIN-1), for whoever may read the
    conversation (it names the patient, reason, location and recipients). Recorded (T-3)."""
    params = {"staff_id": staff_id} if staff_id else {}
    path = f"/conversations/{conversation_id}/decisions"
    answer = await clients.router_answer(
        request, api.ConversationDecisions, "GET", p.practice_id, path, params=params
    )
    async with request.app.state.runtime.sessionmaker() as session, session.begin():
        await session.execute(
            insert(storage.access_log).values(
                practice_id=p.practice_id,
                user_id=p.user_id,
                conversation_id=conversation_id,
                action="explain",
            )
        )
    return clients.relayed(answer)


class Subscriptions(BaseModel):
    staff_id: str | None = Field(default=None, max_length=128)
    reasons: list[str] = Field(default_factory=list, max_length=100)
    locations: list[str] = Field(default_factory=list, max_length=500)
    providers: list[str] = Field(default_factory=list, max_length=500)
    inboxes: list[str] = Field(default_factory=list, max_length=100)


class WhatIf(BaseModel):
    days: float = Field(default=7, gt=0, le=90)
    reason_routing: bool | None = None
    location_routing: bool | None = None
    provider_routing: bool | None = None
    subscriptions: list[Subscriptions] | None = None


@router.post("/admin/routing/what-if")
async def what_if(
    body: WhatIf, request: Request, p: Annotated[Principal, Depends(practice_admin)]
) -> Any:
    """Who would have received what over the past `days` under a proposal (X-WHATIF-1)."""
    if body.subscriptions:
        state = await clients.router_answer(
            request, api.RoutingState, "GET", p.practice_id, "/routing"
        )
        staff = await _staff_ids(request, p.practice_id)
        for sub in body.subscriptions:
            if sub.staff_id is None:
                raise HTTPException(422, "each proposed subscription names its staff_id")
            _check_subscription(sub, state, staff, sub.staff_id)
    payload = api.WhatIfRequest.model_validate(body.model_dump()).model_dump(mode="json")
    answer = await clients.router_answer(
        request, api.WhatIfReport, "POST", p.practice_id, "/what-if", json=payload
    )
    return clients.relayed(answer)


# --- changes --------------------------------------------------------------------------


class SettingsChange(BaseModel):
    reason_routing: bool | None = None
    location_routing: bool | None = None
    provider_routing: bool | None = None


@router.patch("/admin/routing/settings")
async def change_settings(
    body: SettingsChange,
    request: Request,
    response: Response,
    p: Annotated[Principal, Depends(practice_admin)],
) -> dict[str, Any]:
    """Turn reason, location or provider routing on or off; omitted fields stay as they are."""
    if body.model_dump(exclude_none=True) == {}:
        raise HTTPException(
            422, "nothing to change: give reason_routing, location_routing or provider_routing"
        )
    event = RoutingSettingsChanged(**envelope(p), **body.model_dump())
    return await append_and_wait(request, response, event)


def _check_subscription(
    body: Subscriptions, state: api.RoutingState, staff: set[str], staff_id: str
) -> None:
    if staff_id not in staff:
        raise HTTPException(422, f"unknown staff member {staff_id!r} in this practice")
    known = {
        "reasons": {r.code for r in state.reasons},
        "locations": {x.id for x in state.locations} | {LOCATION_UNKNOWN},
        "providers": {x.id for x in state.providers} | {PROVIDER_UNKNOWN},
    }
    for field, allowed in known.items():
        unknown = sorted(set(getattr(body, field)) - allowed)
        if unknown:
            raise HTTPException(422, f"unknown {field[:-1]} {', '.join(map(repr, unknown))}")
    bad = sorted(i for i in body.inboxes if i != UNASSIGNED and not SHARED_INBOX.match(i))
    if bad:
        raise HTTPException(
            422, f"unknown inbox {', '.join(map(repr, bad))}: use 'unassigned' or 'shared:<id>'"
        )


@router.put("/admin/routing/subscriptions/{staff_id}")
async def set_subscriptions(
    staff_id: str,
    body: Subscriptions,
    request: Request,
    response: Response,
    p: Annotated[Principal, Depends(inbox_user)],
) -> dict[str, Any]:
    """Replace a staff member's subscriptions (R-SUB-1). Admins set anyone's; staff set their
    own, which is what changing one's inbox filters does (R-SUB-3)."""
    if not p.is_admin and staff_id != p.user_id:
        raise HTTPException(403, "only practice admins change other people's subscriptions")
    if body.staff_id not in (None, staff_id):
        raise HTTPException(422, "staff_id in the body differs from the one in the path")
    state = await clients.router_answer(request, api.RoutingState, "GET", p.practice_id, "/routing")
    _check_subscription(body, state, await _staff_ids(request, p.practice_id), staff_id)
    event = StaffSubscriptionsSet(
        **envelope(p),
        staff_id=staff_id,
        reasons=tuple(sorted(set(body.reasons))),
        locations=tuple(sorted(set(body.locations))),
        providers=tuple(sorted(set(body.providers))),
        inboxes=tuple(sorted(set(body.inboxes))),
    )
    return await append_and_wait(request, response, event)


class ExtensionTarget(BaseModel):
    # A reason code, or "shared:<id>" for a custom shared inbox; null removes the mapping.
    target: str | None = Field(max_length=80)


@router.put("/admin/routing/voicemail-extensions/{extension}")
async def map_extension(
    extension: str,
    body: ExtensionTarget,
    request: Request,
    response: Response,
    p: Annotated[Principal, Depends(practice_admin)],
) -> dict[str, Any]:
    """Map a voicemail extension to a reason (R-OVERWRITE-1) or a shared inbox (R-VOICEMAIL-1)."""
    if not re.fullmatch(r"[0-9*#]{1,16}", extension):
        raise HTTPException(422, "an extension is 1-16 of 0-9, * and #")
    if body.target is not None and not SHARED_INBOX.match(body.target):
        state = await clients.router_answer(
            request, api.RoutingState, "GET", p.practice_id, "/routing"
        )
        if body.target not in {r.code for r in state.reasons}:
            raise HTTPException(
                422, f"unknown reason {body.target!r}; a shared inbox is 'shared:<id>'"
            )
    event = VoicemailExtensionMapped(**envelope(p), extension=extension, target=body.target)
    return await append_and_wait(request, response, event)


class Policy(BaseModel):
    policy: Literal["round_robin", "least_open"] | None


@router.put("/admin/routing/auto-assign/{inbox}")
async def set_auto_assign(
    inbox: str,
    body: Policy,
    request: Request,
    response: Response,
    p: Annotated[Principal, Depends(practice_admin)],
) -> dict[str, Any]:
    """Auto-assignment for a shared inbox (X-BALANCE-1); null turns it off (the default)."""
    if inbox != UNASSIGNED and not SHARED_INBOX.match(inbox):
        raise HTTPException(422, f"unknown inbox {inbox!r}: use 'unassigned' or 'shared:<id>'")
    event = AutoAssignPolicySet(**envelope(p), inbox=inbox, policy=body.policy)
    return await append_and_wait(request, response, event)


class ReasonDescription(BaseModel):
    # None (or omitted): back to the default description.
    description: str | None = Field(default=None, max_length=160)


@router.put("/admin/routing/reasons/{code}/description")
async def describe_reason(
    code: str,
    body: ReasonDescription,
    request: Request,
    response: Response,
    p: Annotated[Principal, Depends(practice_admin)],
) -> dict[str, Any]:
    """Word the line the patient page shows under a reason (X-PATIENTPAGE-1); empty or null
    puts the default back."""
    state = await clients.router_answer(request, api.RoutingState, "GET", p.practice_id, "/routing")
    if code not in {r.code for r in state.reasons}:
        raise HTTPException(404, f"no reason {code!r} in this practice's catalogue")
    text = (body.description or "").strip() or None
    event = ReasonDescribed(**envelope(p), code=code, description=text)
    return await append_and_wait(request, response, event)


class NewReason(BaseModel):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_]{0,63}$")
    label: str = Field(min_length=1, max_length=80)


@router.post("/platform/practices/{practice_id}/reasons")
async def add_reason(
    practice_id: str,
    body: NewReason,
    request: Request,
    response: Response,
    p: Annotated[Principal, Depends(platform_operator)],
) -> dict[str, Any]:
    """Platform operators add a reason to a practice's catalogue (R-REASON-1)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", practice_id):
        raise HTTPException(422, "a practice id is a lowercase slug")
    state = await clients.router_answer(request, api.RoutingState, "GET", practice_id, "/routing")
    if body.code in {r.code for r in state.reasons}:
        raise HTTPException(409, f"reason {body.code!r} already exists and cannot be reworded")
    event = ReasonAdded(**envelope(p, practice_id), code=body.code, label=body.label)
    return await append_and_wait(request, response, event)
