"""Inbox views: every view, paged (keyset cursor), sorted, filtered, with counts; and any
view as it stood at a past time with who could see it.

    GET /api/inboxes                                  views in my navigation, with counts
    GET /api/inboxes/{group}/{view}                   one page (I-VIEW-1..4, R-LABEL-1)
    GET /api/inboxes/{group}/{view}/as-of?at=         at a past time (X-ASOF-1)
    GET /api/inboxes/unassigned                       = shared/unassigned

Practice comes from the token only (T-1). Which views a user may read is access.py's
(`view_for`, `views_for`): a view outside them is a 403, an unknown one a 404 (T-2).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from switchboard.gateway import access, access_history
from switchboard.gateway.app_state import session_of
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import inbox_user
from switchboard.gateway.conversations import summary
from switchboard.gateway.listing import (
    Channel,
    Counts,
    InboxPage,
    Limit,
    Short,
    Status,
    position,
)
from switchboard.gateway.readmodel import as_of, inbox, staff_access
from switchboard.gateway.staff import practice_staff
from switchboard.platform.problems import AUTHED, PEERS, problems

router = APIRouter(
    prefix="/api", tags=["inbox"], responses=AUTHED | PEERS | problems(404, 409, 413)
)


class ViewInfo(BaseModel):
    path: str
    group: str
    name: str
    counts: Counts


class AsOfItem(BaseModel):
    conversation_id: uuid.UUID
    in_from: datetime
    in_until: datetime | None
    channel: str
    sender: str
    patient_id: str | None
    # The patient's name as the inbox knows it today; null for an unrecognized sender.
    patient_name: str | None = None
    reason: str | None
    location_id: str | None


class AsOf(BaseModel):
    inbox: str
    at: datetime
    items: list[AsOfItem]
    visible_to: list[str]
    # Since when roles and policies are on record (X-ASOF-1b); null: none yet (today's used).
    access_recorded_from: datetime | None = None


def _view(
    p: Principal, group: str, name: str, subscribed: list[str], user: str | None
) -> access.View:
    try:
        return access.view_for(p, group, name, subscribed, user)
    except access.Forbidden as exc:
        raise HTTPException(403, str(exc)) from None
    except access.UnknownView as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/inboxes")
async def my_views(
    request: Request, p: Annotated[Principal, Depends(inbox_user)]
) -> list[ViewInfo]:
    """The inbox views in my navigation (T-2), each with its counts."""
    async with session_of(request) as session:
        subscribed = await inbox.subscribed_inboxes(session, p.practice_id, p.user_id)
        shared = await inbox.shared_inboxes(session, p.practice_id)
        views = access.views_for(p, subscribed, shared)
        counts = await inbox.counts(session, p.practice_id, [v.box for v in views])
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
    filters: inbox.Filters,
    user: str | None,
    with_counts: bool,
) -> InboxPage:
    start = position(cursor)
    async with session_of(request) as session:
        subscribed = await inbox.subscribed_inboxes(session, p.practice_id, p.user_id)
        view = _view(p, group, name, subscribed, user)
        rows = await inbox.page(
            session,
            p.practice_id,
            view.box,
            p.user_id,
            filters,
            limit,
            start,
            newest_first=sort == "newest",
        )
        counts = None
        if with_counts:
            found = await inbox.counts(session, p.practice_id, [view.box])
            counts = Counts(**found.get(view.box, {"total": 0, "open": 0, "unassigned": 0}))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return InboxPage(
        inbox=view.path,
        items=[summary(r, view.labels) for r in rows],
        next_cursor=inbox.encode_cursor(last["sort_at"], last["conversation_id"])
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
        filters=inbox.Filters(status=status, unassigned_only=unassigned_only),
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
        filters=inbox.Filters(status, channel, reason, location, unassigned_only),
        user=user,
        with_counts=counts,
    )


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
    """What was in a view at `at`, and who could see it then (X-ASOF-1): membership,
    shared-inbox subscriptions, roles and policies all as of `at` (X-ASOF-1b). Unless you
    audit, you must have been able to read the view at `at` too (X-ASOF-1c)."""
    if at.tzinfo is None:
        raise HTTPException(422, "give `at` with a time zone, e.g. 2026-06-05T16:55:00-04:00")
    async with session_of(request) as session:
        subscribed = await inbox.subscribed_inboxes(session, p.practice_id, p.user_id)
        v = _view(p, group, view, subscribed, user)
        history = await staff_access.history(session, p.practice_id)
        if not access_history.audits(p):
            then = access_history.principal_at(p, history, at)
            was = await staff_access.subscribed_at(session, p.practice_id, p.user_id, at)
            try:
                access.view_for(then, group, view, was, user)
            except (access.Forbidden, access.UnknownView) as exc:
                raise HTTPException(403, f"at that time: {exc}") from None
        rows = await as_of.as_of(session, p.practice_id, v.box, at, limit)
        subscribers: list[str] = []
        if v.box.startswith("inbox:"):
            subscribers = await as_of.subscribers_at(
                session, p.practice_id, v.box.removeprefix("inbox:"), at
            )
        staff = access_history.principals_at(
            await practice_staff(session, p.practice_id), history, at
        )
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
                patient_name=" ".join(n for n in (r["given_name"], r["family_name"]) if n) or None,
                reason=r["reason"] if v.labels else None,
                location_id=r["location_id"] if v.labels else None,
            )
            for r in rows
        ],
        visible_to=access.who_could_see(v.box, staff, subscribers),
        access_recorded_from=min((r.valid_from for r in history), default=None),
    )
