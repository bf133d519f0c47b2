"""Staff actions on a conversation, as events appended to the log (I-AUDIT-1).

    POST /api/conversations/{id}/assign   {"assignee": "u-1" | null, "expected_version": 7}
    POST /api/conversations/{id}/status   {"status": "open" | "closed", "expected_version": 7}
    POST /api/conversations/{id}/link     {"patient_id": "...", "expected_version": 7}
    POST /api/conversations/{id}/reply    {"body": "...", "keep_open": false, ...}
                                          (optional header Idempotency-Key: see `reply`)
    POST /api/conversations/{id}/messages/{message_id}/retry   (a failed reply, again)
    PUT  /api/admin/staff/{staff_id}/addresses   {"addresses": ["+1212..."]} (admins)

Each is validated here (4xx with the reason), appended (acks=all), and answered once the
inbox projection has applied it (read-your-writes: 200 with the conversation), or 202 with
the event id when that takes longer than `action_wait_s`. `expected_version` is the version
the user saw: a conversation changed meanwhile gets 409 here or, in a race, from the
projection, which refuses a stale action and records it; nothing is applied twice.

Its size: the staff actions share the read-your-writes answer (`append_and_wait`), which a
route module cannot import from another; the staff addresses route is the one that could
move out, with that answer in a shared module.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import (
    ConversationAssigned,
    ConversationLinked,
    ConversationStatusChanged,
    Event,
    ReplyAttachment,
    ReplyRequested,
    StaffAddressesSet,
    deterministic_id,
)
from switchboard.gateway import action_wait, clients, storage, unverified_checks
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import admin_only
from switchboard.gateway.conversation_access import Caller, VisibleConversation
from switchboard.gateway.conversations import ConversationSummary, eligible_assignees, summary
from switchboard.gateway.delivery_state import newest
from switchboard.gateway.idempotency import IdempotencyKey, reply_ids
from switchboard.gateway.readmodel import inbox
from switchboard.platform.logging import get_logger
from switchboard.platform.problems import AUTHED, problems

log = get_logger(__name__)
router = APIRouter(
    prefix="/api", tags=["staff actions"], responses=AUTHED | problems(404, 409, 503)
)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Versioned(BaseModel):
    # The conversation version the user acted on; omit to act whatever changed meanwhile.
    expected_version: int | None = Field(default=None, ge=0)


class Assign(Versioned):
    assignee: str | None = Field(default=None, min_length=1, max_length=128)


class StatusChange(Versioned):
    status: Literal["open", "closed"]


class Link(Versioned):
    patient_id: str = Field(min_length=1, max_length=128)


class Reply(Versioned):
    body: str = Field(default="", max_length=20_000)
    subject: str | None = Field(default=None, max_length=998)
    attachments: list[ReplyAttachment] = Field(default_factory=list, max_length=10)
    secure: bool = False
    # "Send and keep Open"; the default is "Send and Close" (I-STATUS-1).
    keep_open: bool = False
    template_id: str | None = Field(default=None, max_length=128)
    # SMS only: the practice line to send from (I-LINE-1); default the thread's own line.
    line: str | None = Field(default=None, min_length=1, max_length=64)


class ActionResult(BaseModel):
    event_id: uuid.UUID
    applied: bool
    conversation: ConversationSummary | None = None


class Addresses(BaseModel):
    addresses: list[str] = Field(default_factory=list, max_length=20)


def _envelope(p: Principal, conversation_id: uuid.UUID, expected: int | None) -> dict[str, Any]:
    event_id = uuid.uuid4()
    return {
        "event_id": event_id,
        "correlation_id": event_id,
        "occurred_at": datetime.now(UTC),
        "practice_id": p.practice_id,
        "conversation_id": conversation_id,
        "actor": p.user_id,
        "expected_version": expected,
    }


def _load(row: dict[str, Any], expected: int | None) -> dict[str, Any]:
    """The conversation (already access-checked: conversation_access), if still at the
    version the user saw."""
    if expected is not None and expected != row["version"]:
        raise HTTPException(
            409,
            f"the conversation changed meanwhile (version {row['version']}, you saw "
            f"{expected}): reload it and try again",
        )
    return row


async def append_and_wait(
    request: Request, response: Response, p: Principal, events: list[Event]
) -> ActionResult:
    """Publish `events` (in order, one partition), then wait for the projection's outcome."""
    await action_wait.publish(request, events)
    conversation_id = getattr(events[0], "conversation_id", None)
    return await outcome(request, response, p, [e.event_id for e in events], conversation_id)


async def outcome(
    request: Request,
    response: Response,
    p: Principal,
    ids: list[uuid.UUID],
    conversation_id: uuid.UUID | None,
) -> ActionResult:
    """The projection's outcome of the events `ids` (already appended): 200 with the
    conversation, 409 with why it was refused, or 202 when it takes too long."""
    found = await action_wait.outcomes(request, ids)
    if found is None:
        response.status_code = 202
        return ActionResult(event_id=ids[0], applied=False)
    bad = {o for o in found.values() if o != "applied"}
    if "unrecognized" in bad:  # (what it caused is refused too: "conflict")
        raise HTTPException(409, "unrecognized conversation: link it to a patient before replying")
    if "conflict" in bad:
        raise HTTPException(409, "the conversation changed meanwhile: reload it and try again")
    if bad:
        raise HTTPException(409, f"not applied: {', '.join(sorted(bad))}")
    conv = None
    if isinstance(conversation_id, uuid.UUID):
        async with request.app.state.runtime.sessionmaker() as session:
            row = await inbox.conversation(session, p.practice_id, conversation_id, p.user_id)
        conv = summary(row) if row else None
    return ActionResult(event_id=ids[0], applied=True, conversation=conv)


@router.post("/conversations/{conversation_id}/assign")
async def assign(
    conversation_id: uuid.UUID,
    body: Assign,
    request: Request,
    response: Response,
    p: Caller,
    seen: VisibleConversation,
) -> ActionResult:
    """Assign, reassign (`assignee`) or unassign (`null`). Only to users with access to the
    conversation's patient (I-ASSIGN-1)."""
    row = _load(seen, body.expected_version)
    if body.assignee is not None and body.assignee != row["assignee"]:
        async with request.app.state.runtime.sessionmaker() as session:
            boxes = [b for b in row["boxes"] if not b.startswith("assigned:")]
            allowed = {
                u["user_id"] for u in await eligible_assignees(session, p.practice_id, boxes)
            }
        if body.assignee not in allowed:
            raise HTTPException(
                422, f"{body.assignee} is not a user of this practice with access to the patient"
            )
    event = ConversationAssigned(
        **_envelope(p, conversation_id, body.expected_version), assignee=body.assignee
    )
    return await append_and_wait(request, response, p, [event])


@router.post("/conversations/{conversation_id}/status")
async def change_status(
    conversation_id: uuid.UUID,
    body: StatusChange,
    request: Request,
    response: Response,
    p: Caller,
    seen: VisibleConversation,
) -> ActionResult:
    """Open or close by hand, at any time (I-STATUS-1)."""
    _load(seen, body.expected_version)
    event = ConversationStatusChanged(
        **_envelope(p, conversation_id, body.expected_version), status=body.status
    )
    return await append_and_wait(request, response, p, [event])


@router.post("/conversations/{conversation_id}/link")
async def link(
    conversation_id: uuid.UUID,
    body: Link,
    request: Request,
    response: Response,
    p: Caller,
    seen: VisibleConversation,
) -> ActionResult:
    """Link to a patient of this practice, which makes the conversation answerable
    (I-UNREC-1). Candidates: GET .../link-candidates."""
    _load(seen, body.expected_version)
    async with request.app.state.runtime.sessionmaker() as session:
        found = await inbox.patients(session, p.practice_id, ids=[body.patient_id])
    if not found:
        raise HTTPException(422, "no such patient in this practice")
    event = ConversationLinked(
        **_envelope(p, conversation_id, body.expected_version), patient_id=body.patient_id
    )
    return await append_and_wait(request, response, p, [event])


@router.post("/conversations/{conversation_id}/reply")
async def reply(
    conversation_id: uuid.UUID,
    body: Reply,
    request: Request,
    response: Response,
    p: Caller,
    seen: VisibleConversation,
    idempotency_key: IdempotencyKey = None,
) -> ActionResult:
    """Reply on the conversation's channel and line (I-LINE-1), handed to ingest to send
    (ReplyRequested). "Send and Close" unless `keep_open` (I-STATUS-1): the conversation
    closes once the channel accepted the reply, not now (I-DELIV-1: ingest appends the close
    with the ReplySent). No patient: I-UNREC-1 and X-UNREPLY-1 (unverified_checks.py).

    With an `Idempotency-Key` header a request can be repeated safely (a lost answer, a
    second click, a program's retry): the first request under a key is the reply; a repeat
    after it was applied is answered with its outcome, without the version check the first
    one passed (the reply itself moved the version), and nothing is sent again (I-DELIV-6)."""
    ids = reply_ids(p, conversation_id, idempotency_key) if idempotency_key else None
    if ids is not None:
        async with request.app.state.runtime.sessionmaker() as session:
            if await inbox.outcomes(session, [ids[0]]):
                return await outcome(request, response, p, [ids[0]], conversation_id)
    row = _load(seen, body.expected_version)
    if unverified := row["patient_id"] is None:
        async with request.app.state.runtime.sessionmaker() as session, session.begin():
            texts = (body.body, body.subject)
            await unverified_checks.check(session, p, row, texts, body.template_id, body.line)
    if not body.body.strip() and not body.attachments:
        raise HTTPException(422, "a reply needs a body or an attachment")
    email = row["channel"] in ("email", "secure_email")
    if body.secure and not email:
        raise HTTPException(422, "secure sending is for email conversations only")
    if body.subject is not None and not email:
        raise HTTPException(422, "a subject is for email conversations only")
    if row["channel"] not in ("sms", "email", "secure_email", "web_chat", "voicemail"):
        raise HTTPException(409, "the conversation's channel is not known yet: try again shortly")
    if row["channel"] == "voicemail":
        raise HTTPException(422, "a voicemail cannot be answered on its channel")
    line = row["line"]
    if body.line is not None and body.line != row["line"]:
        if row["channel"] != "sms":
            raise HTTPException(422, "a sending line is chosen for SMS conversations only")
        line = inbox.normalize_phone(body.line) or ""
        if line not in await sms_lines(request, p.practice_id):
            raise HTTPException(422, "line: not an SMS line of this practice")
    envelope = _envelope(p, conversation_id, body.expected_version)
    if ids is not None:
        envelope["event_id"] = envelope["correlation_id"] = ids[0]
    now = envelope["occurred_at"]
    events: list[Event] = [
        ReplyRequested(
            **envelope,
            message_id=uuid.uuid4() if ids is None else ids[1],
            channel=row["channel"],
            line=line,
            to=row["sender"],
            body=body.body,
            subject=body.subject,
            attachments=tuple(body.attachments),
            secure=body.secure,
            keep_open=body.keep_open,
            template_id=body.template_id,
            requested_at=now,
            unverified_sender=unverified,
        )
    ]
    return await append_and_wait(request, response, p, events)


@router.post("/conversations/{conversation_id}/messages/{message_id}/retry")
async def retry(
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    request: Request,
    response: Response,
    p: Caller,
    seen: VisibleConversation,
) -> ActionResult:
    """Send a failed reply again: the same body, line and recipient, as a new ReplyRequested
    naming the failed one (`retry_of`), with its "Send and Close" choice (I-DELIV-4). Its
    ids derive from the failed reply's, so a double click or a repeated request sends it
    once. 409 unless the reply's newest state is a failure. No patient: X-UNREPLY-1."""
    unverified = seen["patient_id"] is None
    async with request.app.state.runtime.sessionmaker() as session, session.begin():
        if unverified:
            await unverified_checks.check(session, p, seen, (), None, None)
        hist = await inbox.history(session, p.practice_id, conversation_id)
    failed = next((m for m in hist["messages"] if m["message_id"] == message_id), None)
    if failed is None or failed["direction"] != "outbound":
        raise HTTPException(404, "no such reply in this conversation")
    state = newest(failed["delivery"])
    if state is None or not state.failed:
        raise HTTPException(409, "only a reply that failed can be retried")
    details = failed["details"] or {}
    event_id = deterministic_id(message_id, "retry")
    event = ReplyRequested(
        event_id=event_id,
        correlation_id=event_id,
        occurred_at=datetime.now(UTC),
        practice_id=p.practice_id,
        conversation_id=conversation_id,
        actor=p.user_id,
        message_id=deterministic_id(message_id, "retry-message"),
        channel=failed["channel"],
        line=failed["sender"],
        to=failed["recipient"],
        body=failed["body"],
        subject=failed["subject"],
        attachments=tuple(ReplyAttachment(**a) for a in failed["attachments"] or []),
        secure=bool(details.get("secure")),
        keep_open=bool(details.get("keep_open")),
        template_id=details.get("template_id"),
        requested_at=datetime.now(UTC),
        retry_of=message_id,
        unverified_sender=unverified,
    )
    return await append_and_wait(request, response, p, [event])


async def sms_lines(request: Request, practice_id: str) -> set[str]:
    """The practice's SMS lines, from ingest's internal API (the line directory is ingest's)."""
    return {
        x["address"]
        for x in await clients.ingest_lines(request, practice_id)
        if x["channel"] == "sms"
    }


def _normalize_address(value: str) -> str:
    value = value.strip()
    if "@" in value:
        if not EMAIL.match(value):
            raise HTTPException(422, "addresses: not an email address")
        return value.lower()
    phone = inbox.normalize_phone(value)
    if phone is None:
        raise HTTPException(422, "addresses: not a phone number or email address")
    return phone


practice_admin = admin_only("only practice admins set staff addresses")


@router.put("/admin/staff/{staff_id}/addresses")
async def set_addresses(
    staff_id: str,
    body: Addresses,
    request: Request,
    response: Response,
    p: Annotated[Principal, Depends(practice_admin)],
) -> ActionResult:
    """The numbers and addresses that belong to one staff member: a message written to one
    is assigned to them automatically (I-ASSIGN-1)."""
    addresses = sorted({_normalize_address(a) for a in body.addresses})
    async with request.app.state.runtime.sessionmaker() as session:
        await _known_staff(session, p.practice_id, staff_id)
    event_id = uuid.uuid4()
    event = StaffAddressesSet(
        event_id=event_id,
        correlation_id=event_id,
        occurred_at=datetime.now(UTC),
        practice_id=p.practice_id,
        actor=p.user_id,
        staff_id=staff_id,
        addresses=tuple(addresses),
    )
    return await append_and_wait(request, response, p, [event])


async def _known_staff(session: AsyncSession, practice_id: str, staff_id: str) -> None:
    u = storage.users.c
    found = await session.scalar(
        select(u.user_id).where(u.practice_id == practice_id, u.user_id == staff_id)
    )
    if found is None:
        raise HTTPException(404, "no such staff member in this practice")
