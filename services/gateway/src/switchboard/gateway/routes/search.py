"""Search the conversations I can see (I-SEARCH-1).

    GET /api/search?q=|phone=|email=|name=|text=      newest first, paged like a view

Practice comes from the token only (T-1); only conversations in boxes the caller may read
(access.readable_boxes) are found (T-2).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from switchboard.gateway import access
from switchboard.gateway.app_state import session_of
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import inbox_user
from switchboard.gateway.conversations import summary
from switchboard.gateway.listing import Channel, InboxPage, Limit, Short, Status, position
from switchboard.gateway.readmodel import inbox
from switchboard.gateway.readmodel import search as queries
from switchboard.platform.problems import AUTHED, PEERS, problems

router = APIRouter(
    prefix="/api", tags=["inbox"], responses=AUTHED | PEERS | problems(404, 409, 413)
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
        elif inbox.normalize_phone(q) and not any(ch.isalpha() for ch in q):
            phone = phone or q
        else:
            name, text = name or q, text or q
    norm_phone = None
    if phone is not None:
        norm_phone = inbox.normalize_phone(phone)
        if norm_phone is None:
            raise HTTPException(422, "phone: not a phone number")
    if email is not None and "@" not in email:
        raise HTTPException(422, "email: not an email address")
    if not any((phone, email, name, text)):
        raise HTTPException(422, "give q, phone, email, name or text")
    start = position(cursor)
    filters = inbox.Filters(status, channel, reason, location, unassigned_only)
    async with session_of(request) as session:
        subscribed = await inbox.subscribed_inboxes(session, p.practice_id, p.user_id)
        scope = None if access.sees_all(p) else access.readable_boxes(p, subscribed)
        criteria = inbox.Search(
            phone=norm_phone, email=email.lower() if email else None, name=name, text=text
        )

        async def find(by: inbox.Search) -> list[dict[str, Any]]:
            return await queries.search(
                session,
                p.practice_id,
                p.user_id,
                by,
                filters,
                scope,
                access.sees_all_shared(p),
                limit,
                start,
            )

        if q is not None and criteria.name and criteria.text:
            # `q` as a name or as text: either may match
            by_name = await find(inbox.Search(name=name))
            by_text = await find(inbox.Search(text=text))
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
            rows = await find(criteria)
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return InboxPage(
        inbox="search",
        items=[summary(r) for r in rows],
        next_cursor=inbox.encode_cursor(last["sort_at"], last["conversation_id"])
        if more and last and last["sort_at"]
        else None,
    )
