"""The reason picker: which reasons to offer (R-REASON-2) and when to ask (R-REASON-3)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from switchboard.router.catalogue import OTHER, Reason, catalogue
from switchboard.router.model import (
    STICKY_WINDOW,
    ConversationState,
    RoutingSettings,
    Subscription,
)

# Why the picker is or is not offered; decide() records these in its explanation.
NEW_CONVERSATION = "new_conversation"
ELIGIBLE = "closed_read_and_quiet"
ASSIGNED = "assigned"
UNREAD = "unread_practice_message"
WITHIN_ONE_HOUR = "within_one_hour"


def offered_reasons(
    settings: RoutingSettings, subscriptions: Iterable[Subscription]
) -> tuple[Reason, ...]:
    """Reasons with at least one subscriber, plus Other; nothing when reason routing is off.

    Leaving a reason with no subscribers is how a practice hides it (R-REASON-1).
    """
    if not settings.reason_routing:
        return ()
    subscribed: set[str] = set()
    for sub in subscriptions:
        subscribed |= sub.reasons
    return tuple(
        r
        for r in catalogue(settings.extra_reasons, settings.reason_descriptions)
        if r.code == OTHER or r.code in subscribed
    )


def should_offer_picker(conversation: ConversationState | None, now: datetime) -> tuple[bool, str]:
    """Whether the patient is asked for a reason now, and why (R-REASON-3).

    Not asked while the conversation sits in any inbox (it must be closed first), while the
    patient has not read the practice's last message, or within an hour of their last
    message (R-STICKY-1). The first of these that applies is the `why`.
    """
    if conversation is None:
        return True, NEW_CONVERSATION
    if conversation.assigned or conversation.status != "closed":
        return False, ASSIGNED
    if not conversation.patient_read_last_practice_message:
        return False, UNREAD
    if within_sticky_window(conversation, now):
        return False, WITHIN_ONE_HOUR
    return True, ELIGIBLE


def within_sticky_window(conversation: ConversationState | None, at: datetime) -> bool:
    """True when the patient's previous message is less than an hour before `at`.

    A previous message stamped after `at` (clock skew between channels) also counts as
    recent: it cannot be more than an hour ago.
    """
    if conversation is None or conversation.last_patient_message_at is None:
        return False
    return at - conversation.last_patient_message_at < STICKY_WINDOW
