"""Team work on a conversation: internal notes with @mentions, and snooze (I-NOTE-1,
I-SNOOZE-1). Staff actions on Topic.ACTIONS, keyed by the conversation like every action.

- `NoteAdded`: an internal note. It is never a ReplyRequested, so ingest never sends it and
  the patient page never shows it; `mentions` are staff ids the gateway checked could read the
  conversation. Contains patient data (the body).
- `ConversationSnoozed`: out of the open lists until `until`, or until the patient writes
  (`until_reply`), or both (whichever is first). Its response timer (X-SLA-1) pauses.
- `ConversationWoke`: the snooze ended: at its time (`why` = `time`, appended by the inbox
  projection's durable wake-up timer, actor `system`), or by hand (`staff`). A patient's
  message ends it without an event of its own (the message is the event).
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, Field

from switchboard.events.actions import ConversationAction
from switchboard.events.registry import register


@register
class NoteAdded(ConversationAction):
    """An internal note on a conversation, for staff only (I-NOTE-1)."""

    event_type: Literal["NoteAdded"] = "NoteAdded"
    version: Literal[1] = 1
    phi_fields = frozenset({"body"})

    note_id: uuid.UUID = Field(description="The note's id (it sits in the thread by it).")
    body: str = Field(min_length=1, max_length=5_000, description="The note's text.")
    mentions: tuple[str, ...] = Field(
        default=(),
        max_length=20,
        description="Staff user ids @mentioned in the note: each is notified and finds the "
        "conversation in their Mentions view.",
    )


@register
class ConversationSnoozed(ConversationAction):
    """Snoozed until a time and/or until the patient answers (I-SNOOZE-1)."""

    event_type: Literal["ConversationSnoozed"] = "ConversationSnoozed"
    version: Literal[1] = 1

    until: AwareDatetime | None = Field(
        default=None, description="When it comes back open; none = only when the patient writes."
    )
    until_reply: bool = Field(
        default=True, description="Whether a message from the patient ends the snooze."
    )


@register
class ConversationWoke(ConversationAction):
    """A snooze ended: at its time (`time`, appended by the wake-up timer) or by hand
    (`staff`) (I-SNOOZE-1). `snooze_id` is the ConversationSnoozed event it ends."""

    event_type: Literal["ConversationWoke"] = "ConversationWoke"
    version: Literal[1] = 1

    snooze_id: uuid.UUID = Field(description="The `event_id` of the snooze this ends.")
    why: Literal["time", "staff"] = Field(
        default="time", description="`time`: its time came; `staff`: ended by hand."
    )
