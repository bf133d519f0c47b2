"""The practice's sending lines: SMS numbers, voicemail numbers and mailboxes, with their labels
(I-LINE-1). ingest owns the lines (its settings); the gateway reads them from ingest's internal
API for the caller's own practice (T-1) and lets practice admins relabel them.

    GET /api/lines                                   any staff of the practice
        -> {"lines": [{"channel": "sms"|"voicemail"|"email", "address", "label"}]}
    PUT /api/admin/lines/{channel}/{address}/label   practice admins: {"label": "..."|null}

A new label is a configuration event (LineLabelSet, with the actor) that ingest folds over the
labels it was configured with, so every message the line receives from then on carries it
(MessageReceived.line_label). The PUT answers once ingest shows the new label, else 202.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from switchboard.events import LineLabelSet
from switchboard.gateway import clients
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import admin_only, principal
from switchboard.gateway.settings import GatewaySettings
from switchboard.platform.logging import get_logger
from switchboard.platform.problems import AUTHED, PEERS, problems

log = get_logger(__name__)
router = APIRouter(prefix="/api", tags=["lines"], responses=AUTHED | PEERS | problems(404))

Channel = Literal["sms", "voicemail", "email"]


def _settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


@router.get("/lines")
async def lines(
    request: Request, p: Annotated[Principal, Depends(principal)]
) -> dict[str, list[dict[str, Any]]]:
    """The practice's lines with their labels (I-LINE-1); any staff of the practice."""
    return {"lines": await clients.ingest_lines(request, p.practice_id)}


practice_admin = admin_only("only practice admins change line labels")


class LabelIn(BaseModel):
    # None or "" removes the label: the inbox then shows the number or address.
    label: str | None = Field(default=None, max_length=80)


@router.put("/admin/lines/{channel}/{address}/label")
async def set_label(
    channel: Channel,
    address: str,
    body: LabelIn,
    request: Request,
    response: Response,
    p: Annotated[Principal, Depends(practice_admin)],
) -> dict[str, Any]:
    """Relabel one of the practice's lines; shown on every message it receives from now on."""
    label = (body.label or "").strip() or None
    known = await clients.ingest_lines(request, p.practice_id)
    line = next((x for x in known if x["channel"] == channel and x["address"] == address), None)
    if line is None:
        raise HTTPException(404, f"no {channel} line {address!r} in your practice")
    event_id = uuid.uuid4()
    event = LineLabelSet(
        event_id=event_id,
        correlation_id=event_id,
        occurred_at=datetime.now(UTC),
        practice_id=p.practice_id,
        actor=p.user_id,
        channel=clients.TO_INGEST[channel],
        address=address,
        label=label,
    )
    await request.app.state.runtime.publisher.publish([event])
    log.info("line_label_set", practice_id=p.practice_id, channel=channel, user_id=p.user_id)
    deadline = time.monotonic() + _settings(request).apply_wait_s
    while time.monotonic() < deadline:
        now = await clients.ingest_lines(request, p.practice_id)
        if any(
            x["channel"] == channel and x["address"] == address and x["label"] == label for x in now
        ):
            return {"event_id": str(event_id), "applied": True, "label": label}
        await asyncio.sleep(0.1)
    response.status_code = 202
    return {"event_id": str(event_id), "applied": False, "label": label}
