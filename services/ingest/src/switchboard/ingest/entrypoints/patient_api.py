"""The patient page's JSON API: the web messenger and secure email (R-REASON-2, R-REASON-3,
I-REPLY-1). The page itself belongs to the UI; this is what it calls, once signed in
(patient_sign_in.py). Each route runs its steps in order: validate, query, build (the
message through intake, domain/received.py), publish, insert.

    GET  /patient/{p}/reasons             the reasons to offer, only when the router says so
    POST /patient/{p}/attachments         an upload (raw body), for the next message
    POST /patient/{p}/messages            a message (+ reason, + uploads): MessageReceived
    GET  /patient/{p}/messages            the conversation: the patient's and the practice's
    POST /patient/{p}/messages/{id}/read  read receipt: PracticeMessageRead
    GET  /patient/{p}/messages/{id}/attachments/{n}   a file of a message
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field

from switchboard.events import Attachment, PracticeMessageRead, deterministic_id
from switchboard.events.internal.router import ReasonsOffer
from switchboard.ingest.adapters import patient_store
from switchboard.ingest.adapters.page_copies import PageCopies
from switchboard.ingest.adapters.peers import Peers, PeerUnavailable
from switchboard.ingest.domain.attachment_refs import AttachmentNotFound, practice_of
from switchboard.ingest.domain.errors import IntakeError
from switchboard.ingest.domain.inbound import Inbound
from switchboard.ingest.domain.patient_words import reasons_in
from switchboard.ingest.domain.reasons import chosen_reason
from switchboard.ingest.entrypoints.patient_sign_in import (
    PatientSession,
    Practice,
    Session,
    db_session,
    ingest_settings,
    patient_session,
    request_language,
)
from switchboard.ingest.intake import Intake
from switchboard.platform.kafka import PublishError
from switchboard.platform.logging import get_logger
from switchboard.platform.problems import AUTHED, problems

__all__ = ["PatientSession", "patient_session", "router"]

log = get_logger(__name__)
router = APIRouter(
    prefix="/patient/{practice}",
    tags=["patient page"],
    responses=AUTHED | problems(404, 410, 413, 429, 503),
)
# What a patient may upload: pictures, PDFs, text and office documents. Nothing a browser
# would run (HTML, SVG, scripts) and no programs.
UPLOAD_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/heic",
        "image/heif",
        "application/pdf",
        "text/plain",
        "text/csv",
        "application/rtf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.oasis.opendocument.text",
    }
)


async def _reasons(request: Request, session: PatientSession) -> ReasonsOffer | None:
    peers: Peers = request.app.state.peers
    try:
        return await peers.reasons(session.practice_id, session.conversation_id)
    except PeerUnavailable as exc:
        log.warning("reasons_unavailable", practice_id=session.practice_id, error=str(exc))
        return None


@router.get("/reasons")
async def reasons(practice: Practice, session: Session, request: Request) -> dict[str, Any]:
    """Reasons are offered only when the router says the picker is shown (R-REASON-2: only
    reasons with a subscriber, plus Other; R-REASON-3: not while the conversation is in an
    inbox, unread, or within the hour). In the page's language (X-LANG-3)."""
    answer = await _reasons(request, session)
    if answer is None:
        return {"show_picker": False, "why": "unavailable", "reasons": [], "current_reason": None}
    language = request_language(request)
    own = ingest_settings(request).reason_translations.get(practice, {}).get(language)
    offered = [r.model_dump() for r in answer.reasons] if answer.show_picker else []
    return {
        "show_picker": answer.show_picker,
        "why": answer.why,
        # covers X-LANG-3: the names and descriptions in the page's language
        "reasons": reasons_in(offered, language, own),
        "current_reason": answer.current_reason,
    }


def upload_type(header: str) -> str:
    """The upload's media type without parameters, if it is one a patient may send (415)."""
    media = header.split(";", 1)[0].strip().lower()
    if media not in UPLOAD_TYPES:
        shown = media[:60] or "unknown"
        raise HTTPException(
            415, f"files of type {shown} cannot be sent: send a picture, a PDF or a document"
        )
    return media


class Upload(BaseModel):
    attachment_id: uuid.UUID
    content_type: str
    size_bytes: int
    filename: str | None


@router.post("/attachments", status_code=201, response_model=Upload)
async def upload(
    practice: Practice,
    session: Session,
    request: Request,
    filename: Annotated[str | None, Query(max_length=255)] = None,
) -> Upload:
    settings = ingest_settings(request)
    intake: Intake = request.app.state.intake
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_attachment_bytes:
        raise HTTPException(413, f"a file may be at most {settings.max_attachment_bytes} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > settings.max_attachment_bytes:
            raise HTTPException(413, f"a file may be at most {settings.max_attachment_bytes} bytes")
    if not data:
        raise HTTPException(422, "the file is empty")
    content_type = upload_type(request.headers.get("content-type", ""))
    try:
        ref = await intake.store_bytes(practice, bytes(data), content_type)
    except IntakeError as exc:
        raise HTTPException(exc.status, exc.why) from None
    attachment_id = uuid.uuid4()
    async with db_session(request) as db, db.begin():
        await patient_store.add_upload(
            db,
            attachment_id=attachment_id,
            practice_id=practice,
            patient_id=session.patient_id,
            ref=ref,
            content_type=content_type,
            size_bytes=len(data),
            filename=filename,
            created_at=datetime.now(UTC),
        )
    return Upload(
        attachment_id=attachment_id,
        content_type=content_type,
        size_bytes=len(data),
        filename=filename,
    )


class NewMessage(BaseModel):
    # The page's own id for this message: a retried send is the same message.
    client_message_id: str = Field(min_length=1, max_length=64)
    body: str = Field(default="", max_length=20_000)
    reason: str | None = Field(default=None, max_length=64)
    attachment_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10)


@router.post("/messages", status_code=202)
async def send_message(
    practice: Practice, body: NewMessage, session: Session, request: Request
) -> dict[str, Any]:
    if not body.body.strip() and not body.attachment_ids:
        raise HTTPException(422, "write a message or attach a file")
    try:
        reason = chosen_reason(await _reasons(request, session), body.reason)
    except IntakeError as exc:
        raise HTTPException(exc.status, exc.why) from None
    attachments: list[Attachment] = []
    body.attachment_ids = list(dict.fromkeys(body.attachment_ids))  # each file once
    if body.attachment_ids:
        async with db_session(request) as db:
            rows = await patient_store.uploads_of(
                db, practice, session.patient_id, body.attachment_ids
            )
        for aid in body.attachment_ids:
            row = rows.get(aid)
            if row is None:
                raise HTTPException(422, "an attachment is not one of your uploads")
            attachments.append(
                Attachment(
                    attachment_id=str(aid),
                    content_type=row.content_type,
                    size_bytes=row.size_bytes,
                    filename=row.filename,
                    ref=row.ref,
                )
            )
    now = datetime.now(UTC)
    inbound = Inbound(
        channel="web_chat" if session.kind == "messenger" else "secure_email",
        practice_id=practice,
        sender=session.address,
        line=session.line,
        provider="patient-page",
        external_id=body.client_message_id,
        received_at=now,
        body=body.body,
        attachments=tuple(attachments),
        patient_id=session.patient_id,
        selected_reason=reason,
        conversation_id=session.conversation_id,
    )
    intake: Intake = request.app.state.intake
    try:
        event = await intake.patient_message(inbound)
    except IntakeError as exc:
        raise HTTPException(exc.status, exc.why) from None
    # Kafka acknowledged: the message is accepted, whatever happens to the page's copy.
    page_copies: PageCopies = request.app.state.page_copies
    await page_copies.keep(event, attachments)
    return {"message_id": event.message_id, "conversation_id": session.conversation_id}


def _public_attachments(message_id: uuid.UUID, items: list[dict[str, Any]]) -> list[dict]:
    return [
        {
            "index": i,
            "filename": a.get("filename"),
            "content_type": a.get("content_type"),
            "url": f"messages/{message_id}/attachments/{i}",
        }
        for i, a in enumerate(items)
    ]


@router.get("/messages")
async def messages(practice: Practice, session: Session, request: Request) -> dict[str, Any]:
    async with db_session(request) as db:
        rows = await patient_store.conversation_messages(db, practice, session.conversation_id)
    return {
        "conversation_id": session.conversation_id,
        "messages": [
            {
                "message_id": r.message_id,
                "from": "patient" if r.direction == "in" else "practice",
                "channel": r.channel,
                "subject": r.subject,
                "body": r.body,
                "at": r.at,
                "read_at": r.read_at if r.direction == "out" else None,
                "attachments": _public_attachments(r.message_id, r.attachments),
            }
            for r in rows
        ],
    }


async def _own_message(request: Request, session: PatientSession, message_id: uuid.UUID) -> Any:
    async with db_session(request) as db:
        row = await patient_store.message_in(
            db, session.practice_id, session.conversation_id, message_id
        )
    if row is None:
        raise HTTPException(404, "no such message")
    return row


@router.post("/messages/{message_id}/read", status_code=204)
async def read(
    practice: Practice, message_id: uuid.UUID, session: Session, request: Request
) -> Response:
    """The patient read a practice message: a read receipt the router needs (R-REASON-3)."""
    row = await _own_message(request, session, message_id)
    if row.direction != "out" or row.read_at is not None:
        return Response(status_code=204)
    now = datetime.now(UTC)
    event_id = deterministic_id(practice, str(message_id), "patient-read")
    receipt = PracticeMessageRead(
        event_id=event_id,
        occurred_at=now,
        practice_id=practice,
        correlation_id=event_id,
        conversation_id=session.conversation_id,
        actor=f"patient:{session.patient_id}"[:128],
        message_id=message_id,
        read_at=now,
    )
    try:
        await request.app.state.runtime.publisher.publish([receipt])
    except PublishError:
        raise HTTPException(503, "try again shortly") from None
    async with db_session(request) as db, db.begin():
        await patient_store.mark_read(db, message_id, now)
    return Response(status_code=204)


@router.get("/messages/{message_id}/attachments/{index}")
async def attachment(
    practice: Practice,
    message_id: uuid.UUID,
    index: Annotated[int, Path(ge=0, le=50)],
    session: Session,
    request: Request,
) -> Response:
    row = await _own_message(request, session, message_id)
    if index >= len(row.attachments):
        raise HTTPException(404, "no such attachment")
    item = row.attachments[index]
    ref = str(item.get("ref", ""))
    if practice_of(ref) != practice:
        raise HTTPException(404, "this file is not kept here")
    try:
        data = await request.app.state.store.get(ref)
    except AttachmentNotFound:
        raise HTTPException(404, "no such attachment") from None
    return Response(
        data,
        media_type=item.get("content_type") or "application/octet-stream",
        headers={
            "content-disposition": content_disposition(item.get("filename")),
            "x-content-type-options": "nosniff",
            # a file is never a page: nothing in it runs, even if opened directly
            "content-security-policy": "default-src 'none'; sandbox",
        },
    )


def content_disposition(filename: str | None) -> str:
    """`attachment` with the file's name: an ASCII fallback (no quotes, backslashes or control
    characters: a header cannot be split) and the exact name as RFC 5987 UTF-8."""
    name = (filename or "attachment").strip() or "attachment"
    name = "".join(c for c in name if c.isprintable())[:255] or "attachment"
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    if fallback == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
