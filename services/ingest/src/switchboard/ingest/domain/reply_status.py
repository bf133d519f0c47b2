"""What a reply's outcome does to its conversation's status. Pure.

- I-DELIV-1 "Send and Close" closes the conversation only once the channel accepted the
  reply: the close is a ConversationStatusChanged(closed) that ingest appends with the
  ReplySent, never with the request. Its actor is the staff member who asked for it and its
  causation the ReplySent, so the audit trail reads "closed by <staff>, because their reply
  was sent"; the router and the notifier see an ordinary status change.
- I-DELIV-2 A reply that failed (refused, not sent, or reported undelivered by the carrier)
  never leaves its conversation closed: its ReplyFailed comes with a
  ConversationStatusChanged(open) by "system", caused by the ReplyFailed. The patient got
  nothing, so the conversation waits in the open queue for someone to act.

Both events have ids derived from the outcome's, so a repeated report appends nothing new.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from switchboard.events import (
    ConversationStatusChanged,
    Event,
    ReplyFailed,
    ReplyRequested,
    ReplySent,
    deterministic_id,
)

SYSTEM = "system"


def status_after(
    request: ReplyRequested, outcome: ReplySent | ReplyFailed
) -> ConversationStatusChanged | None:
    """The status change a reply's outcome causes, if any (I-DELIV-1, I-DELIV-2)."""
    if isinstance(outcome, ReplySent):
        if request.keep_open:
            return None
        return _change(outcome, "closed", request.actor, outcome.sent_at)
    return _change(outcome, "open", SYSTEM, outcome.failed_at)


def _change(
    outcome: ReplySent | ReplyFailed,
    status: Literal["open", "closed"],
    actor: str,
    at: datetime,
) -> ConversationStatusChanged:
    change: ConversationStatusChanged = ConversationStatusChanged.derive(
        outcome,
        event_id=deterministic_id(outcome.event_id, "status-after-reply", status),
        occurred_at=at,
        conversation_id=outcome.conversation_id,
        actor=actor,
        status=status,
    )
    return change


def with_status(request: ReplyRequested, outcome: ReplySent | ReplyFailed) -> list[Event]:
    """The outcome, then the status change it causes: publish them together, in this order."""
    change = status_after(request, outcome)
    return [outcome] if change is None else [outcome, change]
