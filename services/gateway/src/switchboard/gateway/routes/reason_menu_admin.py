"""The SMS / email reason menu's setting (X-MENU-1, X-MENU-2): practice admins only (T-2).

    GET /api/admin/routing/reason-menu   the practice's setting and each line's own
    PUT /api/admin/routing/reason-menu   {"line"?, "enabled", "window_minutes"?}

Off by default. `line` absent sets the practice's default; a line (an SMS number or an email
address of the practice) gets its own setting, which wins over the practice's. Appended as one
ReasonMenuSet naming who made it, so the routing history shows it like every other change.
Read back from the router's internal API (what the router routes with), for the caller's own
practice (T-1).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from switchboard.events import ReasonMenuSet
from switchboard.events.internal import router as api
from switchboard.gateway import clients
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import admin_only
from switchboard.gateway.config_append import append_and_wait, envelope
from switchboard.platform.problems import AUTHED, PEERS, problems

router = APIRouter(
    prefix="/api",
    tags=["routing administration"],
    responses=AUTHED | PEERS | problems(409),
)

practice_admin = admin_only("only practice admins manage routing")
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ReasonMenu(BaseModel):
    line: str | None = Field(
        default=None,
        max_length=320,
        description="An SMS number (E.164) or email address; none = the whole practice.",
    )
    enabled: bool = Field(description="Send the reason menu (off by default).")
    window_minutes: int = Field(
        default=10, ge=1, le=1440, description="How long the patient has to answer."
    )


@router.get("/admin/routing/reason-menu")
async def reason_menu(
    request: Request, p: Annotated[Principal, Depends(practice_admin)]
) -> api.ReasonMenuSettings:
    """The reason menu's settings as the router routes with them (X-MENU-2): the practice's
    (`practice`: off and a 10-minute window until set) and each line with its own (`lines`:
    an SMS number or a lower-case email address), which wins over the practice's."""
    return await clients.router_answer(
        request, api.ReasonMenuSettings, "GET", p.practice_id, "/reason-menu"
    )


@router.put("/admin/routing/reason-menu")
async def set_reason_menu(
    body: ReasonMenu,
    request: Request,
    response: Response,
    p: Annotated[Principal, Depends(practice_admin)],
) -> dict[str, Any]:
    """Turn the SMS / email reason menu on or off, for the practice or one line (X-MENU-2)."""
    line = body.line.strip() if body.line is not None else None
    if line is not None and not (PHONE.match(line) or EMAIL.match(line)):
        raise HTTPException(422, "a line is an SMS number (+E.164) or an email address")
    event = ReasonMenuSet(
        **envelope(p), line=line, enabled=body.enabled, window_minutes=body.window_minutes
    )
    return await append_and_wait(request, response, event)
