"""Documents and attachments beside a conversation (I-REPLY-1): the files a reply may attach,
uploading one, and downloading one, through ingest's attachment store.

    GET  /api/conversations/{id}/documents            this conversation's and its patient's
    POST /api/conversations/{id}/attachments          upload, answers the ref
    GET  /api/conversations/{id}/attachments?ref=     download (T-3: recorded)

Every route checks the conversation through conversation_access.py: whoever may read the
conversation may read its patient's documents.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response

from switchboard.events.internal.ingest import StoredFile
from switchboard.gateway import clients
from switchboard.gateway.access_log import record_access
from switchboard.gateway.app_state import session_of, settings_of
from switchboard.gateway.conversation_access import Caller, VisibleConversation
from switchboard.gateway.readmodel import documents
from switchboard.platform.problems import AUTHED, PEERS, problems

router = APIRouter(
    prefix="/api", tags=["inbox"], responses=AUTHED | PEERS | problems(404, 409, 413)
)

UPLOAD_MAX = 10 * 1024 * 1024


def _document(row: dict[str, Any]) -> dict[str, Any]:
    a = row["attachment"]
    return {
        "ref": a.get("ref"),
        "filename": a.get("filename"),
        "content_type": a.get("content_type"),
        "size_bytes": a.get("size_bytes"),
        "sent_at": row["sent_at"],
        "conversation_id": str(row["conversation_id"]),
    }


@router.get("/conversations/{conversation_id}/documents")
async def patient_documents(
    conversation_id: uuid.UUID, request: Request, p: Caller, row: VisibleConversation
) -> dict[str, Any]:
    """Files a reply may attach (I-REPLY-1): those of this conversation and of the patient's
    other conversations, stored by the practice (not a provider's URL). Whoever may read the
    conversation may read its patient's documents."""
    async with session_of(request) as session:
        rows = await documents.documents(session, p.practice_id, conversation_id, row["patient_id"])
    seen: set[str] = set()
    out = []
    for d in map(_document, rows):
        ref = d["ref"]
        if not isinstance(ref, str) or not ref.startswith(f"store:{p.practice_id}/"):
            continue
        if ref not in seen:
            seen.add(ref)
            out.append(d)
    return {"documents": out}


@router.post("/conversations/{conversation_id}/attachments")
async def upload_attachment(
    conversation_id: uuid.UUID,
    request: Request,
    p: Caller,
    row: VisibleConversation,
    filename: Annotated[str | None, Query(max_length=255)] = None,
) -> dict[str, Any]:
    """A file uploaded by staff for a reply (I-REPLY-1): stored by ingest in the practice's
    attachment store; answers the ref to put in the reply's `attachments`."""
    data = await request.body()
    if not data:
        raise HTTPException(422, "the upload is empty")
    if len(data) > UPLOAD_MAX:
        raise HTTPException(413, f"files up to {UPLOAD_MAX // (1024 * 1024)} MB")
    content_type = request.headers.get("content-type") or "application/octet-stream"
    response = await clients.of(request).call(
        "ingest",
        "POST",
        f"/internal/practices/{p.practice_id}/files",
        content=data,
        headers={"content-type": content_type},
        timeout_s=settings_of(request).ingest_timeout_s * 4,
    )
    if response.status_code != 200:
        raise clients.of(request).failed("ingest", response)
    return {
        "ref": clients.of(request).parsed("ingest", StoredFile, response.json()).ref,
        "filename": filename,
        "content_type": content_type,
        "size_bytes": len(data),
    }


@router.get("/conversations/{conversation_id}/attachments")
async def download_attachment(
    conversation_id: uuid.UUID,
    request: Request,
    p: Caller,
    row: VisibleConversation,
    ref: Annotated[str, Query(max_length=300)],
) -> Response:
    """A file of this conversation or of its patient's conversations (the same set as
    `/documents`), from the practice's attachment store. Recorded (T-3)."""
    async with session_of(request) as session, session.begin():
        rows = await documents.documents(session, p.practice_id, conversation_id, row["patient_id"])
        found = next((d for d in map(_document, rows) if d["ref"] == ref), None)
        if found is None:
            raise HTTPException(404, "no such file in this conversation")
        await record_access(session, p, conversation_id, "attachment")
    response = await clients.of(request).call(
        "ingest",
        "GET",
        f"/internal/practices/{p.practice_id}/attachments",
        params={"ref": ref},
        timeout_s=settings_of(request).ingest_timeout_s * 4,
    )
    if response.status_code == 404:
        raise HTTPException(404, "the file is no longer stored")
    if response.status_code != 200:
        raise clients.of(request).failed("ingest", response)
    name = (found["filename"] or "attachment").encode("ascii", "ignore").decode()
    name = name.replace('"', "").replace("\\", "") or "attachment"
    return Response(
        response.content,
        media_type=found["content_type"] or "application/octet-stream",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "x-content-type-options": "nosniff",
            "cache-control": "no-store",
        },
    )
