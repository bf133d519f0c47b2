"""Practice settings the gateway enforces, with their history (practice admins).

    GET /api/admin/settings/reply-unrecognized   -> {"setting", "value", "history": [...]}
    PUT /api/admin/settings/reply-unrecognized   {"value": true | false}

`reply-unrecognized` (X-UNREPLY-1, off by default): staff with the inbox.reply_unrecognized
policy may answer an unrecognized sender (unrecognized_reply.py). Each change is kept with
who made it and when (practice_settings.py); the history lists them oldest first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from switchboard.gateway import practice_settings
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import admin_only
from switchboard.gateway.unrecognized_reply import SETTING
from switchboard.platform.logging import get_logger
from switchboard.platform.problems import AUTHED

log = get_logger(__name__)
router = APIRouter(prefix="/api", tags=["practice settings"], responses=AUTHED)

practice_admin = admin_only("only practice admins change practice settings")


class SettingChange(BaseModel):
    value: bool


class SettingChanged(BaseModel):
    value: bool
    changed_by: str
    changed_at: datetime


class SettingState(BaseModel):
    setting: str
    value: bool
    history: list[SettingChanged]


async def _state(request: Request, practice_id: str) -> SettingState:
    async with request.app.state.runtime.sessionmaker() as session:
        value = await practice_settings.current(session, practice_id, SETTING)
        changes = await practice_settings.history(session, practice_id, SETTING)
    return SettingState(
        setting=SETTING, value=value, history=[SettingChanged(**c) for c in changes]
    )


@router.get("/admin/settings/reply-unrecognized")
async def read_reply_unrecognized(
    request: Request, p: Annotated[Principal, Depends(practice_admin)]
) -> SettingState:
    """Whether staff with the policy may answer unrecognized senders, and every change."""
    return await _state(request, p.practice_id)


@router.put("/admin/settings/reply-unrecognized")
async def set_reply_unrecognized(
    body: SettingChange, request: Request, p: Annotated[Principal, Depends(practice_admin)]
) -> SettingState:
    """Allow (true) or stop (false) replies to unrecognized senders (X-UNREPLY-1)."""
    async with request.app.state.runtime.sessionmaker() as session, session.begin():
        await practice_settings.change(session, p.practice_id, SETTING, body.value, p.user_id)
    log.info("practice_setting_changed", practice_id=p.practice_id, setting=SETTING)
    return await _state(request, p.practice_id)
