"""A staff member's own routing subscriptions (R-SUB-3): what they may choose from and what
they receive now. Changing them is PUT /api/admin/routing/subscriptions/{own id}
(routing_admin.py), which staff may call for themselves.

    GET /api/me/subscriptions -> {"staff_id", "reason_routing", "location_routing",
        "provider_routing", "reasons", "locations", "providers", "subscription"}

Only the caller's own subscription is returned, never other people's (T-2).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from switchboard.events.internal.router import RoutingState
from switchboard.gateway import clients
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import inbox_user
from switchboard.platform.problems import AUTHED, PEERS

router = APIRouter(prefix="/api/me", tags=["routing administration"], responses=AUTHED | PEERS)


@router.get("/subscriptions")
async def my_subscriptions(
    request: Request, p: Annotated[Principal, Depends(inbox_user)]
) -> dict[str, Any]:
    answer = await clients.router_answer(request, RoutingState, "GET", p.practice_id, "/routing")
    state = clients.relayed(answer)
    mine = next((s for s in answer.subscriptions if s.staff_id == p.user_id), None)
    empty: dict[str, list[str]] = {"reasons": [], "locations": [], "providers": [], "inboxes": []}
    return {
        "staff_id": p.user_id,
        "reason_routing": answer.reason_routing,
        "location_routing": answer.location_routing,
        "provider_routing": answer.provider_routing,
        "reasons": state["reasons"],
        "locations": state["locations"],
        "providers": state["providers"],
        "subscription": {**empty, **(mine.model_dump() if mine else {}), "staff_id": p.user_id},
    }
