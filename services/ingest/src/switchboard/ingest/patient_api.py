"""The patient page's JSON API: the web messenger and secure email (R-REASON-2, R-REASON-3,
I-REPLY-1). The page itself belongs to the UI; this is what it calls.

    POST /patient/{p}/sessions            identity check (name + date of birth against the
                                          practice's patients using the phone, or the address
                                          a secure message went to) -> a bearer token
    GET  /patient/{p}/reasons             the reasons to offer, only when the router says so
    POST /patient/{p}/attachments         an upload (raw body), for the next message
    POST /patient/{p}/messages            a message (+ reason, + uploads): MessageReceived
    GET  /patient/{p}/messages            the conversation: the patient's and the practice's
    POST /patient/{p}/messages/{id}/read  read receipt: PracticeMessageRead
    GET  /patient/{p}/messages/{id}/attachments/{n}   a file of a message
    GET  /patient/{p}/practice            the practice's name for the page (no sign-in)
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import Attachment, PracticeMessageRead, deterministic_id
from switchboard.ingest.adapters import queries, storage
from switchboard.ingest.adapters.attachments import AttachmentNotFound, practice_of
from switchboard.ingest.adapters.peers import Peers, PeerUnavailable
from switchboard.ingest.adapters.sign_in_limit import SignInLimiter
from switchboard.ingest.domain.errors import IntakeError
from switchboard.ingest.domain.identity import matching_patients, normalize_phone
from switchboard.ingest.domain.inbound import Inbound
from switchboard.ingest.domain.links import secure_token_valid
from switchboard.ingest.domain.received import messenger_conversation
from switchboard.ingest.intake import Intake
from switchboard.ingest.settings import IngestSettings
from switchboard.platform.kafka import PublishError
from switchboard.platform.logging import get_logger
from switchboard.platform.problems import AUTHED, problems

log = get_logger(__name__)
router = APIRouter(
    prefix="/patient/{practice}",
    tags=["patient page"],
    responses=AUTHED | problems(404, 410, 413, 429, 503),
)
Practice = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
NOT_VERIFIED = "we could not verify these details"
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


def _settings(request: Request) -> IngestSettings:
    settings: IngestSettings = request.app.state.settings
    return settings


def _db(request: Request) -> AsyncSession:
    return request.app.state.runtime.sessionmaker()  # type: ignore[no-any-return]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class PatientSession:
    practice_id: str
    patient_id: str
    conversation_id: uuid.UUID
    kind: str  # messenger | secure
    address: str
    line: str


async def patient_session(practice: Practice, request: Request) -> PatientSession:
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        raise HTTPException(401, "sign in first", headers={"WWW-Authenticate": "Bearer"})
    s = storage.sessions
    async with _db(request) as db:
        row = (await db.execute(select(s).where(s.c.token_hash == _hash(auth[7:].strip())))).first()
    if row is None or row.practice_id != practice or row.expires_at <= datetime.now(UTC):
        raise HTTPException(401, "session expired, sign in again")
    return PatientSession(
        row.practice_id, row.patient_id, row.conversation_id, row.kind, row.address, row.line
    )


Session = Annotated[PatientSession, Depends(patient_session)]


class SignIn(BaseModel):
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    birth_date: date
    # The messenger: the patient's mobile number.
    phone: str | None = Field(default=None, max_length=32)
    # The link in a secure email's notice.
    secure_message_id: uuid.UUID | None = None
    secure_token: str | None = Field(default=None, max_length=100)


class SignedIn(BaseModel):
    token: str
    expires_at: datetime
    conversation_id: uuid.UUID
    kind: str


def practice_display_name(request: Request, practice: str) -> str:
    """The practice's name as configured (`practice_names`, when the settings have it), else
    one made from its id: "acme-family-care" -> "Acme Family Care"."""
    names = getattr(_settings(request), "practice_names", None) or {}
    name = names.get(practice) if isinstance(names, dict) else None
    return str(name) if name else " ".join(re.split(r"[-_]+", practice)).title()


@router.get("/practice")
async def practice_info(practice: Practice, request: Request) -> dict[str, Any]:
    """What the page shows before sign-in: the practice's name. Nothing about patients."""
    if practice not in request.app.state.directory.practices:
        raise HTTPException(404, "no such practice")
    return {"practice_id": practice, "name": practice_display_name(request, practice)}


@router.post("/sessions", status_code=201, response_model=SignedIn)
async def sign_in(practice: Practice, body: SignIn, request: Request) -> SignedIn:
    settings = _settings(request)
    if practice not in request.app.state.directory.practices:
        raise HTTPException(404, "no such practice")
    peers: Peers = request.app.state.peers
    attempts: SignInLimiter = request.app.state.attempts
    if body.secure_message_id is not None:
        kind = "secure"
        if not body.secure_token or not secure_token_valid(
            settings, practice, body.secure_message_id, body.secure_token
        ):
            raise HTTPException(403, "this link is not valid")
        o = storage.outbound
        async with _db(request) as db:
            row = (
                await db.execute(
                    select(o.c.conversation_id, o.c.to_addr, o.c.line, o.c.created_at).where(
                        o.c.message_id == body.secure_message_id,
                        o.c.practice_id == practice,
                        o.c.kind == "secure_notice",
                    )
                )
            ).first()
            linked = None
            if row is not None:
                cp = storage.conversation_patients
                linked = (
                    await db.execute(
                        select(cp.c.patient_id).where(cp.c.conversation_id == row.conversation_id)
                    )
                ).scalar()
        if row is None:
            raise HTTPException(404, "no such message")
        if row.created_at + timedelta(seconds=settings.secure_link_ttl_s) < datetime.now(UTC):
            raise HTTPException(410, "this link has expired; ask the practice to send it again")
        address, line, conversation = row.to_addr.lower(), row.line, row.conversation_id
        key = f"{practice}|secure|{body.secure_message_id}"
    else:
        kind = "messenger"
        phone = normalize_phone(body.phone or "")
        if phone is None:
            raise HTTPException(422, "a valid mobile number is required")
        address, key, linked = phone, f"{practice}|phone|{phone}", None
        main = request.app.state.directory.main_line(practice)
        line = main.address if main is not None else "messenger"
        conversation = None
    wait_s = await attempts.retry_after(key)
    if wait_s is not None:
        raise HTTPException(
            429, "too many attempts; try again later", headers={"Retry-After": str(wait_s)}
        )
    try:
        if kind == "secure":
            candidates = await peers.patients_by_contact(practice, email=address)
            if linked and all(c.get("patient_id") != linked for c in candidates):
                found = await peers.patient(practice, linked)
                candidates += [found] if found else []
        else:
            candidates = await peers.patients_by_contact(practice, phone=address)
    except PeerUnavailable as exc:
        log.warning("identity_check_unavailable", practice_id=practice, error=str(exc))
        raise HTTPException(503, "cannot verify right now, try again shortly") from None
    ids = matching_patients(candidates, body.given_name, body.family_name, body.birth_date)
    if len(ids) != 1:
        await attempts.failed(key)
        log.info("identity_not_verified", practice_id=practice, kind=kind, matches=len(ids))
        raise HTTPException(401, NOT_VERIFIED)
    await attempts.succeeded(key)
    patient_id = ids[0]
    if conversation is None:
        conversation = await _messenger_conversation(request, practice, line, address, patient_id)
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires = now + timedelta(seconds=settings.session_ttl_s)
    async with _db(request) as db, db.begin():
        await db.execute(
            insert(storage.sessions).values(
                token_hash=_hash(token),
                practice_id=practice,
                patient_id=patient_id,
                conversation_id=conversation,
                kind=kind,
                address=address,
                line=line,
                created_at=now,
                expires_at=expires,
            )
        )
    log.info("patient_signed_in", practice_id=practice, kind=kind)
    return SignedIn(token=token, expires_at=expires, conversation_id=conversation, kind=kind)


async def _messenger_conversation(
    request: Request, practice: str, line: str, phone: str, patient_id: str
) -> uuid.UUID:
    async with _db(request) as db:
        owners = await queries.contact_owners(db, practice, phone)
    return messenger_conversation(practice, line, phone, patient_id, owners)


async def _reasons(request: Request, session: PatientSession) -> dict[str, Any] | None:
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
    inbox, unread, or within the hour)."""
    answer = await _reasons(request, session)
    if answer is None:
        return {"show_picker": False, "why": "unavailable", "reasons": [], "current_reason": None}
    show = bool(answer.get("show_picker"))
    return {
        "show_picker": show,
        "why": answer.get("why"),
        "reasons": answer.get("reasons", []) if show else [],
        "current_reason": answer.get("current_reason"),
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
    settings = _settings(request)
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
    async with _db(request) as db, db.begin():
        await db.execute(
            insert(storage.uploads).values(
                attachment_id=attachment_id,
                practice_id=practice,
                patient_id=session.patient_id,
                ref=ref,
                content_type=content_type,
                size_bytes=len(data),
                filename=filename,
                created_at=datetime.now(UTC),
            )
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
    answer = await _reasons(request, session)
    reason = body.reason
    if answer is not None:
        offered = {r.get("code") for r in answer.get("reasons", [])}
        if answer.get("show_picker"):
            # covers R-REASON-2: a reason must be picked, from those offered, before sending.
            if reason is None:
                raise HTTPException(422, "choose a reason for your message")
            if reason not in offered:
                raise HTTPException(422, "this reason is not offered")
        else:
            reason = None  # covers R-REASON-3: not asked, so the conversation keeps its own
    attachments: list[Attachment] = []
    body.attachment_ids = list(dict.fromkeys(body.attachment_ids))  # each file once
    if body.attachment_ids:
        u = storage.uploads
        async with _db(request) as db:
            rows = {
                r.attachment_id: r
                for r in (
                    await db.execute(
                        select(u).where(
                            u.c.attachment_id.in_(body.attachment_ids),
                            u.c.practice_id == practice,
                            u.c.patient_id == session.patient_id,
                        )
                    )
                ).all()
            }
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
    async with _db(request) as db, db.begin():
        await db.execute(
            insert(storage.portal_messages)
            .values(
                message_id=event.message_id,
                practice_id=practice,
                conversation_id=session.conversation_id,
                channel=event.channel,
                direction="in",
                body=event.body,
                subject=None,
                attachments=[a.model_dump(mode="json") for a in attachments],
                at=now,
            )
            .on_conflict_do_nothing()
        )
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
    pm = storage.portal_messages
    async with _db(request) as db:
        rows = (
            await db.execute(
                select(pm)
                .where(
                    pm.c.practice_id == practice, pm.c.conversation_id == session.conversation_id
                )
                .order_by(pm.c.at, pm.c.message_id)
            )
        ).all()
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
    pm = storage.portal_messages
    async with _db(request) as db:
        row = (
            await db.execute(
                select(pm).where(
                    pm.c.message_id == message_id,
                    pm.c.practice_id == session.practice_id,
                    pm.c.conversation_id == session.conversation_id,
                )
            )
        ).first()
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
    pm = storage.portal_messages
    async with _db(request) as db, db.begin():
        await db.execute(
            update(pm)
            .where(pm.c.message_id == message_id, pm.c.read_at.is_(None))
            .values(read_at=now)
        )
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
