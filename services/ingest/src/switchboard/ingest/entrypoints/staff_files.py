"""Files staff upload for a reply (I-REPLY-1), stored in the practice's attachment store.
Internal: the gateway authenticates staff and scopes the call to their practice (T-1).

    POST /internal/practices/{p}/files   body = the file, Content-Type = its type -> {"ref"}
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from switchboard.events.internal.ingest import StoredFile
from switchboard.ingest.entrypoints.internal import Practice
from switchboard.platform.problems import AUTHED, problems

router = APIRouter(prefix="/internal/practices/{practice}", responses=AUTHED | problems(404, 413))

MAX_BYTES = 10 * 1024 * 1024


@router.post("/files", response_model=StoredFile)
async def store_file(practice: Practice, request: Request) -> dict[str, Any]:
    if practice not in request.app.state.directory.practices:
        raise HTTPException(404, "no such practice")
    data = await request.body()
    if not data:
        raise HTTPException(422, "the file is empty")
    if len(data) > MAX_BYTES:
        raise HTTPException(413, "the file is too large")
    content_type = request.headers.get("content-type") or "application/octet-stream"
    ref = await request.app.state.store.put(practice, data, content_type)
    return {"ref": ref, "size_bytes": len(data), "content_type": content_type}
