"""The checks of a reply to an unrecognized sender (X-UNREPLY-1) that need the database, in
the caller's transaction: may this user answer (conversation_access.unverified_reply: the
practice setting and the policy, else 403), no patient placeholders in the text or in the
chosen template (422 naming them), only the thread's line (422); then the access record
(`reply_unrecognized`, T-3), so no such reply is asked for unrecorded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import HTTPException
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.gateway import unrecognized_reply
from switchboard.gateway.access_log import record_access
from switchboard.gateway.auth import Principal
from switchboard.gateway.conversation_access import unverified_reply

# The default body and every language's (X-LANG-4): any of them may be the one inserted.
TEMPLATE_BODIES = text(
    "SELECT body, bodies FROM gateway.templates"
    " WHERE practice_id = :practice AND template_id = :template"
)


async def check(
    session: AsyncSession,
    p: Principal,
    row: dict[str, Any],
    texts: Sequence[str | None],
    template_id: str | None,
    line: str | None,
) -> None:
    """Raise 403 / 422 with the reason, or record the access (the reply may be asked for)."""
    await unverified_reply(session, p, row)
    templates: list[str] = []
    if template_id is not None:
        found = await session.execute(
            TEMPLATE_BODIES, {"practice": p.practice_id, "template": template_id}
        )
        row_found = found.first()
        if row_found is not None:
            templates = [row_found.body, *(row_found.bodies or {}).values()]
    why = unrecognized_reply.placeholder_refusal(*texts, *templates)
    why = why or unrecognized_reply.line_refusal(line, row["line"])
    if why is not None:
        raise HTTPException(422, why)
    await record_access(session, p, row["conversation_id"], unrecognized_reply.ACCESS_ACTION)
