""" "Why was this routed here?" as a sentence with names (X-EXPLAIN-1, I-EXPLAIN-1).

    GET /api/conversations/{id}/why[?staff_id=]       the sentence, notes; details for admins

Whoever may read the conversation gets the sentence (routing_story.py builds it from the
latest decision and the names: reasons, locations and providers from the router, staff from
the gateway's users, the next appointment's provider from pm-sync). Practice admins also get
`details`: the rule ids and raw inputs. A name that cannot be fetched degrades to a
humanized code; the sentence never fails because a peer is away. Recorded (T-3).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel
from sqlalchemy import select

from switchboard.events.internal import router as api
from switchboard.events.internal.pm_sync import PatientPanel
from switchboard.gateway import clients, storage
from switchboard.gateway.access_log import record_access
from switchboard.gateway.app_state import session_of
from switchboard.gateway.conversation_access import Caller, VisibleConversation
from switchboard.gateway.routing_story import Names, build_story, staff_story
from switchboard.platform.problems import AUTHED, PEERS, problems

router = APIRouter(
    prefix="/api", tags=["inbox"], responses=AUTHED | PEERS | problems(404, 409, 413)
)
PEER_WAIT_S = 3.0


class Step(BaseModel):
    rule: str
    outcome: str
    inputs: dict[str, Any]


class RoutingStory(BaseModel):
    sentence: str
    notes: list[str]
    staff: str | None = None
    # Rule ids and raw inputs: practice admins only (null for everyone else).
    details: list[Step] | None = None


async def _routing(request: Request, practice_id: str) -> api.RoutingState | None:
    try:
        return await clients.router_answer(
            request, api.RoutingState, "GET", practice_id, "/routing", timeout_s=PEER_WAIT_S
        )
    except HTTPException:
        return None  # names fall back on humanized codes


async def _appointment_provider(
    request: Request, practice_id: str, patient_id: str | None, appointment_id: Any
) -> str | None:
    if not patient_id or not appointment_id:
        return None
    try:
        response = await clients.of(request).call(
            "pm_sync",
            "GET",
            f"/internal/practices/{practice_id}/patients/{patient_id}",
            timeout_s=PEER_WAIT_S,
        )
    except HTTPException:
        return None
    if response.status_code != 200:
        return None
    panel = PatientPanel.model_validate(response.json())
    for e in [*([panel.next_appointment] if panel.next_appointment else []), *panel.encounters]:
        if e.appointment_id == appointment_id:
            return e.provider_name
    return None


def _appointment_id(explanation: list[dict[str, Any]]) -> Any:
    for step in explanation:
        if step.get("rule") == "R-LOC-1" and (step.get("inputs") or {}).get("appointment_id"):
            return step["inputs"]["appointment_id"]
    return None


@router.get("/conversations/{conversation_id}/why")
async def routing_story(
    conversation_id: uuid.UUID,
    request: Request,
    p: Caller,
    row: VisibleConversation,
    staff_id: Annotated[str | None, Query(max_length=128)] = None,
) -> RoutingStory:
    """Why the latest message of this conversation went where it went, as a sentence with
    names; with `staff_id`, also why that person did or did not receive it."""
    explanation: list[dict[str, Any]] = list(row["explanation"] or [])
    async with session_of(request) as session, session.begin():
        u = storage.users.c
        users = await session.execute(
            select(u.user_id, u.display_name).where(u.practice_id == p.practice_id)
        )
        staff = {r.user_id: r.display_name for r in users}
        await record_access(session, p, conversation_id, "explain")
    routing = await _routing(request, p.practice_id)
    provider = await _appointment_provider(
        request, p.practice_id, row["patient_id"], _appointment_id(explanation)
    )
    names = Names(
        viewer_id=p.user_id,
        patient=(row.get("given_name") or None) if row["patient_id"] else None,
        reasons={r.code: r.label for r in routing.reasons} if routing else {},
        locations={x.id: x.name for x in routing.locations} if routing else {},
        providers={x.id: x.name for x in routing.providers} if routing else {},
        staff=staff,
        appointment_provider=provider,
        timezone=routing.timezone if routing else "UTC",
        care_team=list(row.get("care_team") or []),
        primary_contact=row.get("primary_contact"),
        assignee=row.get("assignee"),
    )
    story = build_story(explanation, names)
    about = None
    if staff_id:
        path = f"/conversations/{conversation_id}/decisions"
        answer = await clients.router_answer(
            request,
            api.ConversationDecisions,
            "GET",
            p.practice_id,
            path,
            params={"staff_id": staff_id},
        )
        last = answer.decisions[-1] if answer.decisions else None
        if last is not None and last.staff is not None:
            checks = [c.model_dump() for c in last.staff.checks]
            about = staff_story(staff_id, last.staff.received, checks, names)
    return RoutingStory(
        sentence=story.sentence,
        notes=list(story.notes),
        staff=about,
        details=[Step(**s) for s in explanation] if p.is_admin else None,
    )
