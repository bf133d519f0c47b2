"""The staff of my practice, by id and name (the inbox shows assignees and care teams by
name). No patient data.

    GET /api/staff
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from switchboard.gateway import staff
from switchboard.gateway.app_state import session_of
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import inbox_user
from switchboard.platform.problems import AUTHED, PEERS, problems

router = APIRouter(
    prefix="/api", tags=["inbox"], responses=AUTHED | PEERS | problems(404, 409, 413)
)


@router.get("/staff")
async def staff_directory(
    request: Request, p: Annotated[Principal, Depends(inbox_user)]
) -> list[dict[str, str]]:
    """The staff of my practice, by id and name (the inbox shows assignees and care teams by
    name). No patient data."""
    async with session_of(request) as session:
        return await staff.directory(session, p.practice_id)
