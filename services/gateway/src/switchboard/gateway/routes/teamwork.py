"""Team work: internal notes with @mentions, snooze, and bulk actions, as events on the log.

    POST /api/conversations/{id}/notes   {"body": "...", "mentions": ["u-2"]}     I-NOTE-1
    POST /api/conversations/{id}/snooze  {"until": "2026-12-08T09:00:00Z" | null}  I-SNOOZE-1
    POST /api/conversations/bulk         {"action": "close", "conversation_ids": [...]} I-BULK-1

- A note is NoteAdded: never a ReplyRequested, so nothing reaches the patient. Each mention
  must be a colleague who may read the conversation (access.can_see, the rule every route
  uses); otherwise 422 naming them. The notifier alerts each one mentioned.
- A snooze takes the conversation out of the open lists until `until` (422 if not in the
  future) or, with no time, until the patient writes; a patient's message always ends it.
  Reopen by setting the status to open.
- A bulk action is one event per conversation, all with the same actor and `batch_id`, each
  checked as that action is one at a time; conversations the user may not act on are skipped
  and listed with why, and nothing is appended for them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import AwareDatetime, BaseModel, Field

from switchboard.events import (
    ConversationAssigned,
    ConversationSnoozed,
    ConversationStatusChanged,
    Event,
    NoteAdded,
)
from switchboard.gateway import access, action_wait, mentions, staff
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import inbox_user
from switchboard.gateway.conversation_access import Caller, VisibleConversation
from switchboard.gateway.conversations import ConversationSummary, eligible_assignees, summary
from switchboard.gateway.readmodel import inbox
from switchboard.platform.problems import AUTHED, problems

router = APIRouter(
    prefix="/api", tags=["staff actions"], responses=AUTHED | problems(404, 409, 422, 503)
)

MAX_SNOOZE = timedelta(days=366)


class Versioned(BaseModel):
    expected_version: int | None = Field(default=None, ge=0)


class Note(Versioned):
    body: str = Field(min_length=1, max_length=5_000)
    # Chosen in the UI; `@<user id>` in the text counts too.
    mentions: list[str] = Field(default_factory=list, max_length=20)


class Snooze(Versioned):
    # None: until the patient writes.
    until: AwareDatetime | None = None


class Bulk(BaseModel):
    action: Literal["assign", "close", "reopen", "snooze"]
    conversation_ids: list[uuid.UUID] = Field(min_length=1, max_length=200)
    # assign: to whom (null: unassign); snooze: until when (null: until the patient writes)
    assignee: str | None = Field(default=None, min_length=1, max_length=128)
    until: AwareDatetime | None = None


class TeamworkResult(BaseModel):
    event_id: uuid.UUID
    applied: bool
    conversation: ConversationSummary | None = None
    mentions: list[str] = Field(default_factory=list)


class Skipped(BaseModel):
    conversation_id: uuid.UUID
    why: str


class BulkResult(BaseModel):
    batch_id: uuid.UUID
    # acted on (the projection applied it), or still on the way (answer came before it did)
    applied: list[uuid.UUID]
    pending: list[uuid.UUID]
    # not acted on: not visible to the user, or refused (e.g. changed meanwhile)
    skipped: list[Skipped]


def _envelope(p: Principal, cid: uuid.UUID, expected: int | None = None) -> dict[str, Any]:
    event_id = uuid.uuid4()
    return {
        "event_id": event_id,
        "correlation_id": event_id,
        "occurred_at": datetime.now(UTC),
        "practice_id": p.practice_id,
        "conversation_id": cid,
        "actor": p.user_id,
        "expected_version": expected,
    }


def _check_version(row: dict[str, Any], expected: int | None) -> None:
    if expected is not None and expected != row["version"]:
        raise HTTPException(
            409,
            f"the conversation changed meanwhile (version {row['version']}, you saw "
            f"{expected}): reload it and try again",
        )


def snooze_until(until: datetime | None, now: datetime) -> datetime | None:
    """The snooze's end, or 422: it must be in the future, and within a year."""
    if until is None:
        return None
    if until <= now:
        raise HTTPException(422, "until: the snooze time is in the past")
    if until - now > MAX_SNOOZE:
        raise HTTPException(422, "until: at most a year ahead")
    return until


async def _answer(
    request: Request, response: Response, p: Principal, event: Event, **extra: Any
) -> TeamworkResult:
    await action_wait.publish(request, [event])
    found = await action_wait.outcomes(request, [event.event_id])
    if found is None:
        response.status_code = 202
        return TeamworkResult(event_id=event.event_id, applied=False, **extra)
    outcome = found[event.event_id]
    if outcome != "applied":
        raise HTTPException(409, "the conversation changed meanwhile: reload it and try again")
    async with request.app.state.runtime.sessionmaker() as session:
        cid = getattr(event, "conversation_id")  # noqa: B009 (every action has one)
        row = await inbox.conversation(session, p.practice_id, cid, p.user_id)
    return TeamworkResult(
        event_id=event.event_id,
        applied=True,
        conversation=summary(row) if row else None,
        **extra,
    )


@router.post("/conversations/{conversation_id}/notes")
async def add_note(
    conversation_id: uuid.UUID,
    body: Note,
    request: Request,
    response: Response,
    p: Caller,
    seen: VisibleConversation,
) -> TeamworkResult:
    """An internal note, for staff only, with @mentions of colleagues who may read the
    conversation (I-NOTE-1). 422 names each mention refused and why."""
    _check_version(seen, body.expected_version)
    if not body.body.strip():
        raise HTTPException(422, "body: a note needs text")
    async with request.app.state.runtime.sessionmaker() as session:
        names = {
            s["user_id"]: s["display_name"] for s in await staff.directory(session, p.practice_id)
        }
        who = mentions.mentioned(body.body, body.mentions, names)
        readers = (
            [u["user_id"] for u in await eligible_assignees(session, p.practice_id, seen["boxes"])]
            if who
            else []
        )
    refused = mentions.problems(who, names, readers)
    if refused:
        raise HTTPException(422, "mentions: " + "; ".join(refused))
    event = NoteAdded(
        **_envelope(p, conversation_id, body.expected_version),
        note_id=uuid.uuid4(),
        body=body.body,
        mentions=tuple(who),
    )
    return await _answer(request, response, p, event, mentions=who)


@router.post("/conversations/{conversation_id}/snooze")
async def snooze(
    conversation_id: uuid.UUID,
    body: Snooze,
    request: Request,
    response: Response,
    p: Caller,
    seen: VisibleConversation,
) -> TeamworkResult:
    """Snooze until a time or until the patient writes (I-SNOOZE-1); its response timer
    pauses meanwhile. 422 for a time in the past; 409 for a closed conversation."""
    _check_version(seen, body.expected_version)
    until = snooze_until(body.until, datetime.now(UTC))
    if seen["status"] == "closed":
        raise HTTPException(409, "a closed conversation cannot be snoozed: reopen it first")
    event = ConversationSnoozed(**_envelope(p, conversation_id, body.expected_version), until=until)
    return await _answer(request, response, p, event)


def _bulk_event(
    p: Principal, body: Bulk, cid: uuid.UUID, batch_id: uuid.UUID, until: datetime | None
) -> Event:
    env = {**_envelope(p, cid), "batch_id": batch_id}
    if body.action == "assign":
        return ConversationAssigned(**env, assignee=body.assignee)
    if body.action == "snooze":
        return ConversationSnoozed(**env, until=until)
    return ConversationStatusChanged(**env, status="closed" if body.action == "close" else "open")


@router.post("/conversations/bulk")
async def bulk(
    body: Bulk,
    request: Request,
    p: Annotated[Principal, Depends(inbox_user)],
) -> BulkResult:
    """Assign, close, reopen or snooze a selection (I-BULK-1): one event per conversation,
    the same actor and batch id, each checked as one at a time. Conversations the user may
    not act on are skipped and listed; nothing is appended for them."""
    until = snooze_until(body.until, datetime.now(UTC)) if body.action == "snooze" else None
    batch_id = uuid.uuid4()
    skipped: list[Skipped] = []
    events: list[Event] = []
    async with request.app.state.runtime.sessionmaker() as session:
        subscribed = await inbox.subscribed_inboxes(session, p.practice_id, p.user_id)
        for cid in dict.fromkeys(body.conversation_ids):
            row = await inbox.conversation(session, p.practice_id, cid, p.user_id)
            if row is None or not access.can_see(p, row["boxes"], subscribed):
                # another practice's, missing, or not in the user's inboxes: the same answer
                skipped.append(Skipped(conversation_id=cid, why="not in your inboxes"))
                continue
            if body.action == "snooze" and row["status"] == "closed":
                skipped.append(Skipped(conversation_id=cid, why="closed: reopen it first"))
                continue
            if body.action == "assign" and body.assignee not in (None, row["assignee"]):
                boxes = [b for b in row["boxes"] if not b.startswith("assigned:")]
                allowed = {
                    u["user_id"] for u in await eligible_assignees(session, p.practice_id, boxes)
                }
                if body.assignee not in allowed:
                    skipped.append(
                        Skipped(
                            conversation_id=cid,
                            why=f"{body.assignee} cannot see this patient's conversation",
                        )
                    )
                    continue
            events.append(_bulk_event(p, body, cid, batch_id, until))
    applied: list[uuid.UUID] = []
    pending: list[uuid.UUID] = []
    if events:
        await action_wait.publish(request, events)
        found = await action_wait.outcomes(request, [e.event_id for e in events]) or {}
        for e in events:
            cid = getattr(e, "conversation_id")  # noqa: B009
            outcome = found.get(e.event_id)
            if outcome is None:
                pending.append(cid)
            elif outcome == "applied":
                applied.append(cid)
            else:
                skipped.append(Skipped(conversation_id=cid, why=f"not applied: {outcome}"))
    return BulkResult(batch_id=batch_id, applied=applied, pending=pending, skipped=skipped)
