"""Inbox reads: every view, paged (keyset cursor), sorted, filtered, with counts; a
conversation with its history and routing explanation; the patient panel; search; and any
view as it stood at a past time with who could see it.

    GET /api/inboxes                                  views in my navigation, with counts
    GET /api/inboxes/{group}/{view}                   one page (I-VIEW-1..4, R-LABEL-1)
    GET /api/inboxes/{group}/{view}/as-of?at=         at a past time (X-ASOF-1)
    GET /api/inboxes/unassigned                       = shared/unassigned
    GET /api/search                                   I-SEARCH-1
    GET /api/conversations/{id}                       history + explanation (T-3)
    GET /api/conversations/{id}/panel                 patient panel from pm-sync (I-PANEL-1)
    GET /api/conversations/{id}/link-candidates       I-UNREC-1
    GET /api/conversations/{id}/assignees             I-ASSIGN-1
    GET /api/patients?q=                              patients by name, phone or email

Practice comes from the token only (T-1): another practice's conversation is a 404 exactly
like a missing one. Within the practice, a conversation outside every view the user may
read is a 403 (T-2). Every route with a conversation id checks it through one dependency,
conversation_access.py, which also says which patients a user may read.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import ConversationRead
from switchboard.events.internal.ingest import StoredFile
from switchboard.events.internal.pm_sync import PatientPanel
from switchboard.gateway import access, peers, readmodel, storage
from switchboard.gateway.api import inbox_user
from switchboard.gateway.auth import Principal
from switchboard.gateway.conversation_access import (
    Caller,
    VisibleConversation,
    visible_patients,
)
from switchboard.gateway.conversations import (
    ConversationSummary,
    eligible_assignees,
    summary,
)
from switchboard.gateway.settings import GatewaySettings
from switchboard.platform.kafka import PublishError
from switchboard.platform.logging import get_logger
from switchboard.platform.problems import AUTHED, PEERS, problems
from switchboard.rules.contacts import contact_key

log = get_logger(__name__)
router = APIRouter(
    prefix="/api", tags=["inbox"], responses=AUTHED | PEERS | problems(404, 409, 413)
)

Channel = Literal["sms", "email", "secure_email", "web_chat", "voicemail"]
Status = Literal["open", "closed"]


class Counts(BaseModel):
    total: int
    open: int
    unassigned: int


class InboxPage(BaseModel):
    inbox: str
    items: list[ConversationSummary]
    next_cursor: str | None
    counts: Counts | None = None


class ViewInfo(BaseModel):
    path: str
    group: str
    name: str
    counts: Counts


class Message(BaseModel):
    message_id: uuid.UUID
    direction: str
    channel: str
    sender: str
    recipient: str
    subject: str | None
    body: str
    attachments: list[dict[str, Any]]
    sent_at: datetime
    actor: str | None
    details: dict[str, Any] | None
    delivery: dict[str, Any] | None


class Decision(BaseModel):
    event_id: uuid.UUID
    message_id: uuid.UUID | None
    trigger: str
    reason: str
    location_id: str | None
    location_name: str | None
    provider_id: str | None
    recipients: list[str]
    inboxes: list[str]
    decided_at: datetime


class ConversationDetail(ConversationSummary):
    explanation: list[dict[str, Any]] | None
    decisions: list[Decision]
    messages: list[Message]
    sent_by: list[str]
    linked_by: str | None
    answerable: bool


class AsOfItem(BaseModel):
    conversation_id: uuid.UUID
    in_from: datetime
    in_until: datetime | None
    channel: str
    sender: str
    patient_id: str | None
    reason: str | None
    location_id: str | None


class AsOf(BaseModel):
    inbox: str
    at: datetime
    items: list[AsOfItem]
    visible_to: list[str]


def _settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def _session(request: Request) -> AsyncSession:
    session: AsyncSession = request.app.state.runtime.sessionmaker()
    return session


def _view(
    p: Principal, group: str, name: str, subscribed: list[str], user: str | None
) -> access.View:
    try:
        return access.view_for(p, group, name, subscribed, user)
    except access.Forbidden as exc:
        raise HTTPException(403, str(exc)) from None
    except access.UnknownView as exc:
        raise HTTPException(404, str(exc)) from None


def _cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    try:
        return readmodel.decode_cursor(cursor)
    except readmodel.BadCursor as exc:
        raise HTTPException(422, str(exc)) from None


Limit = Annotated[int, Query(ge=1, le=200)]
Short = Annotated[str | None, Query(min_length=1, max_length=128)]


@router.get("/inboxes")
async def my_views(
    request: Request, p: Annotated[Principal, Depends(inbox_user)]
) -> list[ViewInfo]:
    """The inbox views in my navigation (T-2), each with its counts."""
    async with _session(request) as session:
        subscribed = await readmodel.subscribed_inboxes(session, p.practice_id, p.user_id)
        shared = await readmodel.shared_inboxes(session, p.practice_id)
        views = access.views_for(p, subscribed, shared)
        counts = await readmodel.counts(session, p.practice_id, [v.box for v in views])
    zero = {"total": 0, "open": 0, "unassigned": 0}
    return [
        ViewInfo(path=v.path, group=v.group, name=v.name, counts=Counts(**counts.get(v.box, zero)))
        for v in views
    ]


async def _page(
    request: Request,
    p: Principal,
    group: str,
    name: str,
    *,
    limit: int,
    cursor: str | None,
    sort: str,
    filters: readmodel.Filters,
    user: str | None,
    with_counts: bool,
) -> InboxPage:
    position = _cursor(cursor)
    async with _session(request) as session:
        subscribed = await readmodel.subscribed_inboxes(session, p.practice_id, p.user_id)
        view = _view(p, group, name, subscribed, user)
        rows = await readmodel.page(
            session,
            p.practice_id,
            view.box,
            p.user_id,
            filters,
            limit,
            position,
            newest_first=sort == "newest",
        )
        counts = None
        if with_counts:
            found = await readmodel.counts(session, p.practice_id, [view.box])
            counts = Counts(**found.get(view.box, {"total": 0, "open": 0, "unassigned": 0}))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return InboxPage(
        inbox=view.path,
        items=[summary(r, view.labels) for r in rows],
        next_cursor=readmodel.encode_cursor(last["sort_at"], last["conversation_id"])
        if more and last
        else None,
        counts=counts,
    )


@router.get("/inboxes/unassigned")
async def unassigned_inbox(
    request: Request,
    p: Annotated[Principal, Depends(inbox_user)],
    limit: Limit = 50,
    cursor: str | None = None,
    status: Status | None = None,
    unassigned_only: bool = False,
) -> InboxPage:
    """The Unassigned shared inbox (R-SUB-2); the same as `shared/unassigned`."""
    return await _page(
        request,
        p,
        "shared",
        "unassigned",
        limit=limit,
        cursor=cursor,
        sort="newest",
        filters=readmodel.Filters(status=status, unassigned_only=unassigned_only),
        user=None,
        with_counts=False,
    )


@router.get("/inboxes/{group}/{view}")
async def inbox_page(
    group: str,
    view: str,
    request: Request,
    p: Annotated[Principal, Depends(inbox_user)],
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    sort: Literal["newest", "oldest"] = "newest",
    status: Status | None = None,
    channel: Channel | None = None,
    reason: Short = None,
    location: Short = None,
    unassigned_only: bool = False,
    user: Short = None,
    counts: bool = False,
) -> InboxPage:
    """One page of a view: `my/{assigned,routed,primary-contact,unrecognized,sent}`,
    `care-team/{directed,unrecognized}`, `all/{directed,unrecognized}`,
    `shared/{unassigned,<id>}`. Pass `next_cursor` back as `cursor` for the next page."""
    return await _page(
        request,
        p,
        group,
        view,
        limit=limit,
        cursor=cursor,
        sort=sort,
        filters=readmodel.Filters(status, channel, reason, location, unassigned_only),
        user=user,
        with_counts=counts,
    )


async def _staff(session: AsyncSession, practice_id: str) -> list[Principal]:
    u = storage.users.c
    rows = await session.execute(
        select(u.user_id, u.practice_id, u.role, u.policies).where(u.practice_id == practice_id)
    )
    return [Principal(r.user_id, r.practice_id, r.role, frozenset(r.policies)) for r in rows]


@router.get("/inboxes/{group}/{view}/as-of")
async def inbox_as_of(
    group: str,
    view: str,
    at: datetime,
    request: Request,
    p: Annotated[Principal, Depends(inbox_user)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    user: Short = None,
) -> AsOf:
    """What was in a view at `at`, and who could see it then (X-ASOF-1). Membership and
    shared-inbox subscriptions are as of `at`; roles and policies are today's."""
    if at.tzinfo is None:
        raise HTTPException(422, "give `at` with a time zone, e.g. 2026-06-05T16:55:00-04:00")
    async with _session(request) as session:
        subscribed = await readmodel.subscribed_inboxes(session, p.practice_id, p.user_id)
        v = _view(p, group, view, subscribed, user)
        rows = await readmodel.as_of(session, p.practice_id, v.box, at, limit)
        subscribers: list[str] = []
        if v.box.startswith("inbox:"):
            subscribers = await readmodel.subscribers_at(
                session, p.practice_id, v.box.removeprefix("inbox:"), at
            )
        staff = await _staff(session, p.practice_id)
    return AsOf(
        inbox=v.path,
        at=at,
        items=[
            AsOfItem(
                conversation_id=r["conversation_id"],
                in_from=r["valid_from"],
                in_until=r["valid_to"],
                channel=r["channel"],
                sender=r["sender"],
                patient_id=r["patient_id"],
                reason=r["reason"] if v.labels else None,
                location_id=r["location_id"] if v.labels else None,
            )
            for r in rows
        ],
        visible_to=access.who_could_see(v.box, staff, subscribers),
    )


@router.get("/search")
async def search(
    request: Request,
    p: Annotated[Principal, Depends(inbox_user)],
    q: Annotated[str | None, Query(min_length=2, max_length=200)] = None,
    phone: Annotated[str | None, Query(max_length=32)] = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    name: Annotated[str | None, Query(min_length=2, max_length=200)] = None,
    text: Annotated[str | None, Query(min_length=2, max_length=500)] = None,
    status: Status | None = None,
    channel: Channel | None = None,
    reason: Short = None,
    location: Short = None,
    unassigned_only: bool = False,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> InboxPage:
    """Search the conversations I can see (I-SEARCH-1): by phone (to/from), email (to/from),
    patient or contact name, message text; `q` guesses which. Filters: status, channel,
    reason, location, unassigned only."""
    if q is not None:
        if "@" in q:
            email = email or q
        elif readmodel.normalize_phone(q) and not any(ch.isalpha() for ch in q):
            phone = phone or q
        else:
            name, text = name or q, text or q
    norm_phone = None
    if phone is not None:
        norm_phone = readmodel.normalize_phone(phone)
        if norm_phone is None:
            raise HTTPException(422, "phone: not a phone number")
    if email is not None and "@" not in email:
        raise HTTPException(422, "email: not an email address")
    if not any((phone, email, name, text)):
        raise HTTPException(422, "give q, phone, email, name or text")
    position = _cursor(cursor)
    async with _session(request) as session:
        subscribed = await readmodel.subscribed_inboxes(session, p.practice_id, p.user_id)
        scope = None if access.sees_all(p) else access.readable_boxes(p, subscribed)
        criteria = readmodel.Search(
            phone=norm_phone, email=email.lower() if email else None, name=name, text=text
        )
        if q is not None and criteria.name and criteria.text:
            # `q` as a name or as text: either may match
            by_name = await readmodel.search(
                session,
                p.practice_id,
                p.user_id,
                readmodel.Search(name=name),
                readmodel.Filters(status, channel, reason, location, unassigned_only),
                scope,
                access.sees_all_shared(p),
                limit,
                position,
            )
            by_text = await readmodel.search(
                session,
                p.practice_id,
                p.user_id,
                readmodel.Search(text=text),
                readmodel.Filters(status, channel, reason, location, unassigned_only),
                scope,
                access.sees_all_shared(p),
                limit,
                position,
            )
            merged = {r["conversation_id"]: r for r in [*by_name, *by_text]}
            rows = sorted(
                merged.values(),
                key=lambda r: (
                    r["sort_at"] or datetime.min.replace(tzinfo=UTC),
                    r["conversation_id"],
                ),
                reverse=True,
            )[: limit + 1]
        else:
            rows = await readmodel.search(
                session,
                p.practice_id,
                p.user_id,
                criteria,
                readmodel.Filters(status, channel, reason, location, unassigned_only),
                scope,
                access.sees_all_shared(p),
                limit,
                position,
            )
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return InboxPage(
        inbox="search",
        items=[summary(r) for r in rows],
        next_cursor=readmodel.encode_cursor(last["sort_at"], last["conversation_id"])
        if more and last and last["sort_at"]
        else None,
    )


async def record_access(
    session: AsyncSession, p: Principal, conversation_id: uuid.UUID, action: str
) -> None:
    """T-3: who read which conversation, when."""
    await session.execute(
        insert(storage.access_log).values(
            practice_id=p.practice_id,
            user_id=p.user_id,
            conversation_id=conversation_id,
            action=action,
        )
    )


@router.get("/conversations/{conversation_id}")
async def read_conversation(
    conversation_id: uuid.UUID, request: Request, p: Caller, row: VisibleConversation
) -> ConversationDetail:
    """The conversation with every message, every routing decision (the selected reason
    each time, R-LABEL-1) and the latest explanation (R-EXPLAIN-1). Recorded (T-3)."""
    async with _session(request) as session, session.begin():
        hist = await readmodel.history(session, p.practice_id, conversation_id)
        await record_access(session, p, conversation_id, "read")
    read = ConversationRead(
        event_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        practice_id=p.practice_id,
        conversation_id=conversation_id,
        actor=p.user_id,
        read_at=datetime.now(UTC),
    )
    try:  # the unread marker; the access record above is what T-3 needs
        await request.app.state.runtime.publisher.publish([read], timeout_s=2)
    except PublishError:
        log.warning("read_marker_not_published", conversation_id=str(conversation_id))
    base = summary(row).model_dump()
    base["unread"] = False
    return ConversationDetail(
        **base,
        explanation=row["explanation"],
        decisions=[Decision(**d) for d in hist["decisions"]],
        messages=[Message(**m) for m in hist["messages"]],
        sent_by=list(row["sent_by"] or []),
        linked_by=row["linked_by"],
        answerable=row["patient_id"] is not None,
    )


@router.get("/conversations/{conversation_id}/panel")
async def patient_panel(
    conversation_id: uuid.UUID, request: Request, p: Caller, row: VisibleConversation
) -> Any:
    """The patient panel beside a conversation (I-PANEL-1): name, age, contacts, demographics,
    language, local time, care team, primary contact, up to five encounters. From pm-sync.
    Whoever may read the conversation may read its patient's panel."""
    async with _session(request) as session, session.begin():
        await record_access(session, p, conversation_id, "panel")
    if row["patient_id"] is None:
        raise HTTPException(409, "unrecognized conversation: link it to a patient first")
    response = await peers.of(request).call(
        "pm_sync", "GET", f"/internal/practices/{p.practice_id}/patients/{row['patient_id']}"
    )
    if response.status_code == 404:
        raise HTTPException(404, "the practice-management system has no such patient")
    if response.status_code != 200:
        raise peers.of(request).failed("pm_sync", response)
    return peers.relayed(peers.of(request).parsed("pm_sync", PatientPanel, response.json()))


def _patients(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "patient_id": r["patient_id"],
            "name": f"{r['given_name']} {r['family_name']}".strip(),
            "birth_date": r["birth_date"],
            "phones": r["phones"],
            "emails": r["emails"],
            "care_team": r["care_team"],
            "primary_contact": r["primary_contact"],
        }
        for r in rows
    ]


@router.get("/conversations/{conversation_id}/link-candidates")
async def link_candidates(
    conversation_id: uuid.UUID,
    request: Request,
    p: Caller,
    row: VisibleConversation,
    q: Annotated[str | None, Query(min_length=2, max_length=200)] = None,
) -> dict[str, Any]:
    """Patients to link an unrecognized conversation to (I-UNREC-1): every patient the
    sender's phone or email belongs to, and, with `q`, patients found by name. This is how
    staff who may read the conversation find its patient ("otherwise staff search")."""
    async with _session(request) as session:
        sender = row["sender"]
        contact = contact_key(sender)
        matched = await readmodel.patients(
            session, p.practice_id, ids=list(row["matched_patient_ids"] or []), contact=contact
        )
        found = await readmodel.patients(session, p.practice_id, name=q) if q is not None else []
    return {
        "conversation_id": str(conversation_id),
        "unrecognized": row["patient_id"] is None,
        "matching": _patients(matched),
        "search": _patients(found),
    }


@router.get("/patients")
async def find_patients(
    request: Request,
    p: Annotated[Principal, Depends(inbox_user)],
    q: Annotated[str, Query(min_length=2, max_length=200)],
) -> list[dict[str, Any]]:
    """Patients by name, phone or email: those the caller may read (a policy covering every
    patient, or one of the patient's conversations readable: conversation_access.py). To
    link an unrecognized conversation, search from it: `.../link-candidates?q=`."""
    async with _session(request) as session:
        if "@" in q:
            rows = await readmodel.patients(session, p.practice_id, contact=q.lower())
        elif readmodel.normalize_phone(q) and not any(ch.isalpha() for ch in q):
            rows = await readmodel.patients(
                session, p.practice_id, contact=readmodel.normalize_phone(q)
            )
        else:
            rows = await readmodel.patients(session, p.practice_id, name=q)
        rows = await visible_patients(session, p, rows)
    return _patients(rows)


@router.get("/conversations/{conversation_id}/assignees")
async def assignees(
    conversation_id: uuid.UUID, request: Request, p: Caller, row: VisibleConversation
) -> list[dict[str, str]]:
    """The users this conversation can be assigned to: those with access to it (I-ASSIGN-1)."""
    async with _session(request) as session:
        return await eligible_assignees(session, p.practice_id, row["boxes"])


@router.get("/staff")
async def staff_directory(
    request: Request, p: Annotated[Principal, Depends(inbox_user)]
) -> list[dict[str, str]]:
    """The staff of my practice, by id and name (the inbox shows assignees and care teams by
    name). No patient data."""
    u = storage.users.c
    async with _session(request) as session:
        rows = await session.execute(
            select(u.user_id, u.display_name)
            .where(u.practice_id == p.practice_id)
            .order_by(u.display_name)
        )
        return [{"user_id": r.user_id, "display_name": r.display_name} for r in rows]


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
    async with _session(request) as session:
        rows = await readmodel.documents(session, p.practice_id, conversation_id, row["patient_id"])
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


UPLOAD_MAX = 10 * 1024 * 1024


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
    response = await peers.of(request).call(
        "ingest",
        "POST",
        f"/internal/practices/{p.practice_id}/files",
        content=data,
        headers={"content-type": content_type},
        timeout_s=_settings(request).ingest_timeout_s * 4,
    )
    if response.status_code != 200:
        raise peers.of(request).failed("ingest", response)
    return {
        "ref": peers.of(request).parsed("ingest", StoredFile, response.json()).ref,
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
    async with _session(request) as session, session.begin():
        rows = await readmodel.documents(session, p.practice_id, conversation_id, row["patient_id"])
        found = next((d for d in map(_document, rows) if d["ref"] == ref), None)
        if found is None:
            raise HTTPException(404, "no such file in this conversation")
        await record_access(session, p, conversation_id, "attachment")
    response = await peers.of(request).call(
        "ingest",
        "GET",
        f"/internal/practices/{p.practice_id}/attachments",
        params={"ref": ref},
        timeout_s=_settings(request).ingest_timeout_s * 4,
    )
    if response.status_code == 404:
        raise HTTPException(404, "the file is no longer stored")
    if response.status_code != 200:
        raise peers.of(request).failed("ingest", response)
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
