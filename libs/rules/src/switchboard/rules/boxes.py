"""Names of the shared inboxes, as decisions, subscriptions and views spell them. Pure.

Every conversation that is not someone's sits in Unassigned (R-SUB-2); custom shared inboxes
(R-VOICEMAIL-1) are "shared:<id>".
"""

from __future__ import annotations

UNASSIGNED = "unassigned"
SHARED_PREFIX = "shared:"


def shared_inbox(name: str) -> str:
    """The inbox id of a shared box named in a URL or a form: "unassigned" or "shared:<id>"."""
    return UNASSIGNED if name == UNASSIGNED else f"{SHARED_PREFIX}{name}"


def box_name(inbox: str) -> str:
    """The reverse of `shared_inbox`: "shared:front-desk" -> "front-desk"."""
    return inbox.removeprefix(SHARED_PREFIX)
