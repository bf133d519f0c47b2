"""ingest's internal API, for the gateway (no browser reaches it; the gateway authenticates
staff and scopes every call to their practice, T-1). Served on the internal listener only,
to callers with a token (switchboard.platform.internal_api).

    GET /internal/practices/{p}/lines            the practice's SMS lines, voicemail numbers
                                                 and mailboxes with labels (I-LINE-1)
    GET /internal/practices/{p}/attachments?ref= a stored file of the practice
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from switchboard.events.internal.ingest import PracticeLines
from switchboard.ingest.domain.attachment_refs import AttachmentNotFound, practice_of
from switchboard.platform.problems import AUTHED, problems

router = APIRouter(prefix="/internal/practices/{practice}", responses=AUTHED | problems(404))
Practice = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]


@router.get("/lines", response_model=PracticeLines)
async def lines(practice: Practice, request: Request) -> dict[str, Any]:
    directory = request.app.state.directory
    if practice not in directory.practices:
        raise HTTPException(404, "no such practice")
    main = directory.main_line(practice)
    return {
        "practice_id": practice,
        "lines": [
            {
                "channel": line.channel,
                "address": line.address,
                "label": line.label,
                # What the inbox shows beside the patient's name: the label, else the number.
                "display": line.label or line.address,
                "main": main is not None and line == main,
            }
            for line in directory.of_practice(practice)
        ],
    }


@router.get("/attachments")
async def attachment(
    practice: Practice, request: Request, ref: Annotated[str, Query(max_length=300)]
) -> Response:
    if practice_of(ref) != practice:
        raise HTTPException(404, "no such file in this practice")
    try:
        data = await request.app.state.store.get(ref)
    except AttachmentNotFound:
        raise HTTPException(404, "no such file") from None
    return Response(data, media_type="application/octet-stream")
