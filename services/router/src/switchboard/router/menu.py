"""Reason selection on SMS and email (X-MENU-1): when the menu is sent, what an answer means,
and when the waiting message routes without one. Pure: every time comes from an event.

- X-MENU-2 The menu is sent, and the message's routing waits for the answer, only for an SMS
  or an email (a voicemail is unchanged, R-OVERWRITE-1; the messenger has its own picker)
  from a recognized patient (an unrecognized conversation is not answered, I-UNREC-1), with
  reason routing on and the menu on for the line it was sent to (a line's own setting wins
  over the practice's; off by default), where the messenger would offer the picker
  (R-REASON-3, so never within an hour of the patient's previous message, R-STICKY-1), with
  at least one reason besides Other offered (R-REASON-2).
- X-MENU-3 The answer is the number of an offered reason ("2", "2.", "#2", "two", "dos") or
  its name or keyword in English or Spanish, on the first line (an email's quoted text is
  ignored). It sets the waiting message's reason (a patient pick: the SMS still cleared the
  old one, R-OVERWRITE-1) and routes it; the answer stays in the conversation's history but
  is not routed as a new topic (it is the patient's latest message for R-STICKY-1).
- X-MENU-4 An unrecognised answer gets the menu once more, saying so; a second one, or no
  answer before the window ends (counted from the last menu's message), routes the waiting
  message as without a menu. An answer received after the window is an ordinary message.
- X-MENU-5 A menu is never sent twice: its outbound message id and event id derive from the
  waiting message and the attempt, so a redelivered or reprocessed message sends nothing new.
- X-MENU-6 Any other message while a menu waits (a voicemail, another channel) first routes
  the waiting message as without a menu, then is routed as usual.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from switchboard.router.catalogue import OTHER, Reason
from switchboard.router.menu_text import NUMBER_WORDS, all_names, keyword
from switchboard.router.model import ConversationState, InboundMessage, RoutingSettings
from switchboard.router.picker import should_offer_picker

MENU_CHANNELS = frozenset({"sms", "email"})
DEFAULT_WINDOW_MINUTES = 10
MAX_MENUS = 2  # the menu, and one retry (X-MENU-4)
PRACTICE = "*"  # the key of the practice-wide setting among the per-line ones


@dataclass(frozen=True, slots=True)
class MenuSetting:
    enabled: bool = False
    window_minutes: int = DEFAULT_WINDOW_MINUTES

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)


def line_key(line: str | None) -> str:
    return PRACTICE if line is None else line.strip().lower()


def setting_for(settings: RoutingSettings, line: str) -> MenuSetting:
    """The line's own setting, else the practice's, else off (X-MENU-2)."""
    entry = settings.reason_menu.get(line_key(line)) or settings.reason_menu.get(PRACTICE)
    if entry is None:
        return MenuSetting()
    return MenuSetting(entry[0], entry[1])


def settings_json(settings: RoutingSettings) -> dict[str, Any]:
    """The practice's setting (the default when never set) and each line's own, as the
    internal API answers them (ReasonMenuSettings)."""
    practice = settings.reason_menu.get(PRACTICE)
    own = MenuSetting() if practice is None else MenuSetting(practice[0], practice[1])
    return {
        "settings_version": settings.version,
        "practice": {"line": None, "enabled": own.enabled, "window_minutes": own.window_minutes},
        "lines": [
            {"line": line, "enabled": enabled, "window_minutes": minutes}
            for line, (enabled, minutes) in sorted(settings.reason_menu.items())
            if line != PRACTICE
        ],
    }


def wants_menu(
    message: InboundMessage,
    conversation: ConversationState | None,
    settings: RoutingSettings,
    offered: Sequence[Reason],
) -> tuple[bool, str]:
    """Whether this message waits for a menu answer, and why not when it does not (X-MENU-2)."""
    if message.channel not in MENU_CHANNELS:
        return False, "channel"
    if not settings.reason_routing:
        return False, "reason_routing_off"
    if not setting_for(settings, message.recipient).enabled:
        return False, "menu_off"
    if message.patient_id is None:
        return False, "unrecognized"
    if message.selected_reason is not None:
        return False, "reason_given"
    offer, why = should_offer_picker(conversation, message.received_at)
    if not offer:
        return False, why
    if not any(r.code != OTHER for r in offered):
        return False, "nothing_to_offer"
    return True, "menu"


@dataclass(frozen=True, slots=True)
class PendingMenu:
    """A message waiting for the patient's answer. `menu_id` is its message id; `opening`
    the MessageReceived as JSON (routed when the menu ends); `options` (code, label) in
    menu order; `sent` how many menus went out; `deadline` the end of the answer window."""

    menu_id: uuid.UUID
    practice_id: str
    conversation_id: uuid.UUID
    channel: str
    options: tuple[tuple[str, str], ...]
    language: str
    window_minutes: int
    sent: int
    deadline: datetime
    opening: dict[str, Any]

    def retried(self, at: datetime) -> PendingMenu:
        return replace(
            self, sent=self.sent + 1, deadline=at + timedelta(minutes=self.window_minutes)
        )


def open_menu(
    message: InboundMessage,
    opening: dict[str, Any],
    offered: Sequence[Reason],
    language: str,
    setting: MenuSetting,
) -> PendingMenu:
    return PendingMenu(
        menu_id=message.message_id,
        practice_id=message.practice_id,
        conversation_id=message.conversation_id,
        channel=message.channel,
        options=tuple((r.code, r.label) for r in offered),
        language=language,
        window_minutes=setting.window_minutes,
        sent=1,
        deadline=message.received_at + setting.window,
        opening=opening,
    )


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold())
    no_marks = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", no_marks).split())


def first_line(body: str, channel: str) -> str:
    """The line an answer is read from: the first non-empty one, skipping an email's quoting."""
    for line in body.splitlines():
        stripped = line.strip()
        if not stripped or (channel == "email" and stripped.startswith(">")):
            continue
        return stripped
    return ""


def parse_answer(body: str, channel: str, options: Sequence[tuple[str, str]]) -> str | None:
    """The reason code the answer names, or None when it names none (X-MENU-3)."""
    said = _plain(first_line(body, channel))
    if not said:
        return None
    number: int | None = None
    if said.isdigit():
        number = int(said)
    elif said in NUMBER_WORDS:
        number = NUMBER_WORDS[said]
    if number is not None:
        return options[number - 1][0] if 1 <= number <= len(options) else None
    for code, label in options:
        names = {_plain(n) for n in (*all_names(code, label), keyword(code))}
        if said in names:
            return code
    return None


Step = Literal["picked", "retry", "give_up", "late"]


def answer(pending: PendingMenu, body: str, channel: str, at: datetime) -> tuple[Step, str | None]:
    """What a patient message received at `at` does to the waiting menu (X-MENU-3, X-MENU-4).

    `late`: the window had ended (the timer had not said so yet): route the waiting message
    as without a menu, then this one as usual. Another channel is never an answer (X-MENU-6).
    """
    if at >= pending.deadline or channel != pending.channel:
        return "late", None
    code = parse_answer(body, channel, pending.options)
    if code is not None:
        return "picked", code
    if pending.sent < MAX_MENUS:
        return "retry", None
    return "give_up", None


def is_due(pending: PendingMenu, now: datetime) -> bool:
    return now >= pending.deadline
