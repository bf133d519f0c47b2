"""Reason selection on SMS and email (X-MENU-1): the practice's setting and the menu's timer.

- `ReasonMenuSet` (config): a practice admin turns the automatic reason menu on or off for
  the whole practice (`line` None) or for one line (an SMS number or email address, which
  then wins over the practice's setting), with the answer window in minutes.
- `ReasonMenuExpired` (actions): the router's durable timer says a menu got no usable answer
  within its window; the router then routes the waiting message as without a reason. Its id
  is derived from the menu, so a timer that fires twice appends one event.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from switchboard.events.actions import ConversationAction
from switchboard.events.config import ConfigEvent
from switchboard.events.registry import register


@register
class ReasonMenuSet(ConfigEvent):
    """The SMS / email reason menu turned on or off, for the practice or one line (X-MENU-1)."""

    event_type: Literal["ReasonMenuSet"] = "ReasonMenuSet"
    version: Literal[1] = 1

    line: str | None = Field(
        default=None,
        min_length=3,
        max_length=320,
        description="The SMS number or email address this applies to; none = the practice.",
    )
    enabled: bool = Field(description="Whether the menu is sent (off by default).")
    window_minutes: int = Field(
        default=10, ge=1, le=1440, description="How long the patient has to answer."
    )


@register
class ReasonMenuExpired(ConversationAction):
    """A reason menu's answer window ended without a usable answer (X-MENU-1); appended by the
    router's menu timer, actor `system`. `menu_id` is the waiting message's id."""

    event_type: Literal["ReasonMenuExpired"] = "ReasonMenuExpired"
    version: Literal[1] = 1

    menu_id: uuid.UUID = Field(description="The message id of the message waiting for a reason.")
