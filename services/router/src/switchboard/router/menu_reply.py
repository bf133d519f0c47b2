"""The reason menu as events (X-MENU-1): the system's outbound menu message. Pure."""

from __future__ import annotations

from datetime import timedelta

from switchboard.events import MessageReceived, ReplyRequested, decode, deterministic_id
from switchboard.router.menu import PendingMenu
from switchboard.router.menu_text import menu_body, menu_subject

SYSTEM = "system"


def opening_of(waiting: PendingMenu) -> MessageReceived:
    opening = decode(waiting.opening)
    assert isinstance(opening, MessageReceived)
    return opening


def menu_reply(waiting: PendingMenu, cause: MessageReceived) -> ReplyRequested:
    """The menu as a real outbound message on the patient's channel and line, from the
    system. Ids derive from the waiting message and the attempt: never sent twice (X-MENU-5)."""
    opening = opening_of(waiting)
    # Just after the message that caused it: the inbox orders a conversation's history by
    # time, and an equal time would put the menu before the patient's message by chance.
    at = cause.received_at + timedelta(milliseconds=1)
    request: ReplyRequested = ReplyRequested.derive(
        cause,
        event_id=deterministic_id(waiting.menu_id, "reason-menu", str(waiting.sent)),
        occurred_at=at,
        conversation_id=waiting.conversation_id,
        actor=SYSTEM,
        message_id=deterministic_id(waiting.menu_id, "reason-menu-message", str(waiting.sent)),
        channel=waiting.channel,
        line=opening.recipient,
        to=opening.sender,
        body=menu_body(waiting.options, waiting.channel, waiting.language, waiting.sent > 1),
        subject=menu_subject(opening.subject) if waiting.channel == "email" else None,
        keep_open=True,
        requested_at=at,
    )
    return request
