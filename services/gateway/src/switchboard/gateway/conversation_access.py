"""One access check for everything about a conversation or a patient (T-1, T-2).

Every route that takes a conversation id depends on `conversation_access` (path
`{conversation_id}`) or `conversation_access_if_given` (an optional `?conversation_id=`): the
conversation's history, routing explanation, panel, documents, attachments (upload and
download), link candidates, assignees and every staff action. A test walks the app's routes
and fails for one that takes a conversation id without it
(tests/unit/gateway/test_gateway_conversation_access.py); the authorization matrix over the
whole OpenAPI is tests/integration/test_gateway_access_matrix.py.

The rule, in this order:
- the practice comes from the token only: a conversation of another practice is a 404, with
  the same body as an id that does not exist (T-1);
- a role without Inbox access gets 403;
- a conversation outside every box the user may read (access.can_see) is a 403.

Patient data follows the same rule (access.can_see_patient): a user may read a patient's data
when they may read at least one of that patient's conversations, or when a policy covers every
patient (inbox.full_patient, inbox.api). So the panel, documents and attachments beside a
conversation the user may read are theirs to read, even those of the patient's other
conversations; the patient directory (`GET /api/patients?q=`) lists only the patients the user
may read. Linking an unrecognized conversation searches patients from that conversation
(`GET /api/conversations/{id}/link-candidates?q=`), which needs access to the conversation.

Answering an unrecognized sender (X-UNREPLY-1) is checked here too (`unverified_reply`):
past the rule above, the practice setting and the caller's inbox.reply_unrecognized policy
(unrecognized_reply.refusal), else 403 with the reason.

The live socket (routes/live.py) tells each user only of conversations, alerts and presence they
may read, by the same rule (`audience`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.gateway import access, practice_settings, unrecognized_reply
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import principal
from switchboard.gateway.readmodel import inbox, visibility

NOT_FOUND = "no such conversation"


async def visible_conversation(
    session: AsyncSession, p: Principal, conversation_id: uuid.UUID
) -> dict[str, Any]:
    """The conversation, or 404 (missing or another practice's: the same answer, T-1), or
    403 (in this practice but in no view this user may read)."""
    row = await inbox.conversation(session, p.practice_id, conversation_id, p.user_id)
    if row is None:
        raise HTTPException(404, NOT_FOUND)
    if not p.has_inbox:
        raise HTTPException(403, "your role has no Inbox access")
    subscribed = await inbox.subscribed_inboxes(session, p.practice_id, p.user_id)
    if not access.can_see(p, row["boxes"], subscribed):
        raise HTTPException(403, "this conversation is in none of your inboxes")
    return row


async def unverified_reply_refusal(
    session: AsyncSession, p: Principal, row: dict[str, Any]
) -> str | None:
    """For a conversation `p` may read (visible_conversation): why they may not answer it
    while it has no patient (X-UNREPLY-1), or None. None too when it has a patient."""
    if row["patient_id"] is not None:
        return None
    allows = await practice_settings.current(session, p.practice_id, unrecognized_reply.SETTING)
    return unrecognized_reply.refusal(p, allows)


async def unverified_reply(session: AsyncSession, p: Principal, row: dict[str, Any]) -> None:
    """403 with the reason unless `p` may answer this unrecognized conversation."""
    why = await unverified_reply_refusal(session, p, row)
    if why is not None:
        raise HTTPException(403, why)


async def conversation_access(
    conversation_id: uuid.UUID,
    request: Request,
    p: Annotated[Principal, Depends(principal)],
) -> dict[str, Any]:
    """A dependency: the conversation `{conversation_id}` as the caller may read it."""
    async with request.app.state.runtime.sessionmaker() as session:
        return await visible_conversation(session, p, conversation_id)


async def conversation_access_if_given(
    request: Request,
    p: Annotated[Principal, Depends(principal)],
    conversation_id: uuid.UUID | None = None,
) -> dict[str, Any] | None:
    """A dependency for an optional `?conversation_id=`: checked like the path one."""
    if conversation_id is None:
        return None
    return await conversation_access(conversation_id, request, p)


# A route parameter: `row: VisibleConversation` (with `p: Caller` for who asks).
VisibleConversation = Annotated[dict[str, Any], Depends(conversation_access)]
Caller = Annotated[Principal, Depends(principal)]


async def visible_patients(
    session: AsyncSession, p: Principal, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Those of the patient rows `rows` that `p` may read (access.can_see_patient)."""
    if not p.has_inbox:
        return []
    if access.sees_all(p) or not rows:
        return rows
    subscribed = await inbox.subscribed_inboxes(session, p.practice_id, p.user_id)
    boxes = await visibility.patient_conversation_boxes(
        session, p.practice_id, [r["patient_id"] for r in rows]
    )
    return [r for r in rows if access.can_see_patient(p, boxes[r["patient_id"]], subscribed)]


async def audience(
    session: AsyncSession, practice_id: str, conversation_id: uuid.UUID, who: Iterable[Principal]
) -> set[str]:
    """The users among `who` (all of `practice_id`) who may read the conversation now."""
    staff = [p for p in who if p.practice_id == practice_id and p.has_inbox]
    if not staff:
        return set()
    boxes = await visibility.conversation_boxes(session, practice_id, conversation_id)
    if boxes is None:
        return set()  # not (yet) in the read model of this practice: nobody is told of it
    subscribed = await visibility.subscriptions_of(
        session, practice_id, sorted({p.user_id for p in staff})
    )
    return {p.user_id for p in staff if access.can_see(p, boxes, subscribed[p.user_id])}
