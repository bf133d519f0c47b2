"""Names of inboxes and of the read model's view boxes. Pure.

The router puts a conversation in inboxes ("unassigned", custom "shared:<id>",
R-SUB-2 / R-VOICEMAIL-1); the inbox projection files it under view boxes (I-VIEW-1..4) and
the gateway reads those boxes back for a view, so all three spell them from here:

    <kind>:<staff id>  for ASSIGNED, ROUTED, PRIMARY, UNRECOGNIZED, SENT, CARE_TEAM,
                       CARE_TEAM_UNRECOGNIZED, MENTIONED (one box per staff member)
    all, all_unrec     the All Patients views
    inbox:<inbox id>   a shared inbox ("inbox:unassigned", "inbox:shared:<id>")
"""

from __future__ import annotations

UNASSIGNED = "unassigned"
SHARED_PREFIX = "shared:"

ASSIGNED = "assigned"
ROUTED = "routed"
PRIMARY = "primary"
UNRECOGNIZED = "unrec"
SENT = "sent"
CARE_TEAM = "careteam"
CARE_TEAM_UNRECOGNIZED = "careteam_unrec"
# @mentioned in a note (I-NOTE-1): lists the conversation, grants no access of its own.
MENTIONED = "mentioned"
ALL = "all"
ALL_UNRECOGNIZED = "all_unrec"
INBOX_PREFIX = "inbox:"


def shared_inbox(name: str) -> str:
    """The inbox id of a shared inbox by its name in a URL: "unassigned" or "shared:<name>"."""
    return UNASSIGNED if name == UNASSIGNED else f"{SHARED_PREFIX}{name}"


def inbox_name(inbox: str) -> str:
    """The reverse of `shared_inbox`: "shared:front-desk" -> "front-desk"."""
    return inbox.removeprefix(SHARED_PREFIX)


def staff_box(kind: str, staff_id: str) -> str:
    """One staff member's box of a kind: staff_box(ASSIGNED, "u-1") == "assigned:u-1"."""
    return f"{kind}:{staff_id}"


def inbox_box(inbox: str) -> str:
    """The view box of an inbox id: "unassigned" -> "inbox:unassigned"."""
    return f"{INBOX_PREFIX}{inbox}"
