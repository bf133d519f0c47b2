"""Who sees which inbox view (T-2, I-VIEW-1..4). Pure: no I/O.

The inbox projection files every conversation under *boxes* (see the projection's storage):
`assigned:<u>`, `routed:<u>`, `primary:<u>`, `unrec:<u>`, `sent:<u>`, `careteam:<u>`,
`careteam_unrec:<u>`, `all`, `all_unrec`, `inbox:unassigned`, `inbox:shared:<id>`.
A view is one box; a user may read a view when their role and policies allow it:

| view                                   | who                                                  |
|----------------------------------------|------------------------------------------------------|
| my/assigned, my/routed, my/primary,    | every role with Inbox access (My Inbox, T-2)         |
| my/unrecognized, my/sent, my/mentions  | (my/mentions lists, never grants access: I-NOTE-1)   |
| care-team/directed, care-team/unrecognized | inbox.care_team or inbox.full_patient            |
| all/directed, all/unrecognized         | inbox.full_patient (or inbox.api)                    |
| shared/unassigned, shared/<id>         | subscribers of that inbox (R-SUB-2), practice admins,|
|                                        | inbox.full_patient, inbox.api                        |

`inbox.api` (API clients) reads every view, and another user's My Inbox / Care Team views
with `user=`. A conversation is visible to a user when it is in any box they may read; a
patient when one of their conversations is (or with inbox.full_patient / inbox.api). The
routes apply these rules through one dependency: conversation_access.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from switchboard.gateway.auth import Principal
from switchboard.rules import boxes as bx

CARE_TEAM, FULL_PATIENT, API = "inbox.care_team", "inbox.full_patient", "inbox.api"

PERSONAL = {
    ("my", "assigned"): bx.ASSIGNED,
    ("my", "routed"): bx.ROUTED,
    ("my", "primary-contact"): bx.PRIMARY,
    ("my", "unrecognized"): bx.UNRECOGNIZED,
    ("my", "sent"): bx.SENT,
}
# My Inbox / Mentions (I-NOTE-1): conversations whose notes @mention me. It lists them but
# grants no access of its own (not in readable_boxes): a mention was of someone who could
# read the conversation then, and opening it is checked as always.
MENTIONS = {("my", "mentions"): bx.MENTIONED}
CARE = {
    ("care-team", "directed"): bx.CARE_TEAM,
    ("care-team", "unrecognized"): bx.CARE_TEAM_UNRECOGNIZED,
}
ALL = {("all", "directed"): bx.ALL, ("all", "unrecognized"): bx.ALL_UNRECOGNIZED}
SHARED_NAME = re.compile(r"^(unassigned|[a-z0-9][a-z0-9_-]{0,62})$")

# Custom shared inboxes never show reason/location labels (R-LABEL-1).
LABELLED_GROUPS = {"my", "care-team", "all"}


class Forbidden(Exception):
    """The view exists but this user may not read it (403), with the reason."""


class UnknownView(Exception):
    """No such view (404)."""


@dataclass(frozen=True)
class View:
    group: str
    name: str
    box: str
    labels: bool

    @property
    def path(self) -> str:
        return f"{self.group}/{self.name}"


def sees_all(p: Principal) -> bool:
    return FULL_PATIENT in p.policies or API in p.policies


def sees_all_shared(p: Principal) -> bool:
    return p.is_admin or sees_all(p)


def has_care_team(p: Principal) -> bool:
    return CARE_TEAM in p.policies or FULL_PATIENT in p.policies or API in p.policies


def shared_box(name: str) -> str:
    return bx.inbox_box(bx.shared_inbox(name))


def view_for(
    p: Principal, group: str, name: str, subscribed: Iterable[str], user: str | None = None
) -> View:
    """The box behind `group/name` for `p`, or Forbidden / UnknownView."""
    if not p.has_inbox:
        raise Forbidden("your role has no Inbox access")
    whom = p.user_id
    if user is not None and user != p.user_id:
        if API not in p.policies:
            raise Forbidden("only API clients (inbox.api) read another user's views")
        whom = user
    key = (group, name)
    if key in PERSONAL:
        return View(group, name, f"{PERSONAL[key]}:{whom}", True)
    if key in MENTIONS:
        return View(group, name, f"{MENTIONS[key]}:{whom}", True)
    if key in CARE:
        if not has_care_team(p):
            raise Forbidden("the Care Team Inbox needs the inbox.care_team policy")
        return View(group, name, f"{CARE[key]}:{whom}", True)
    if key in ALL:
        if not sees_all(p):
            raise Forbidden("the All Patients Inbox needs the inbox.full_patient policy")
        return View(group, name, ALL[key], True)
    if group == "shared" and SHARED_NAME.match(name):
        inbox = bx.shared_inbox(name)
        if not sees_all_shared(p) and inbox not in set(subscribed):
            raise Forbidden(f"you are not subscribed to the shared inbox {name}")
        return View(group, name, shared_box(name), name == bx.UNASSIGNED)
    raise UnknownView(f"no inbox view {group}/{name}")


def readable_boxes(p: Principal, subscribed: Iterable[str]) -> list[str]:
    """Every box `p` reads, except shared ones when `sees_all_shared` (then: all of them)."""
    if not p.has_inbox:
        return []
    u = p.user_id
    out = [f"{b}:{u}" for b in PERSONAL.values()]
    if has_care_team(p):
        out += [f"{b}:{u}" for b in CARE.values()]
    if sees_all(p):
        out += list(ALL.values())
    if not sees_all_shared(p):
        out += [bx.inbox_box(i) for i in sorted(set(subscribed))]
    return out


def views_for(p: Principal, subscribed: Iterable[str], shared: Iterable[str]) -> list[View]:
    """The views `p` has in their navigation; `shared` is every shared inbox in use."""
    if not p.has_inbox:
        return []
    out = [View(g, n, f"{b}:{p.user_id}", True) for (g, n), b in PERSONAL.items()]
    out += [View(g, n, f"{b}:{p.user_id}", True) for (g, n), b in MENTIONS.items()]
    if has_care_team(p):
        out += [View(g, n, f"{b}:{p.user_id}", True) for (g, n), b in CARE.items()]
    if sees_all(p):
        out += [View(g, n, b, True) for (g, n), b in ALL.items()]
    mine = set(subscribed)
    for inbox in sorted(set(shared) | {bx.UNASSIGNED}):
        if sees_all_shared(p) or inbox in mine:
            name = bx.inbox_name(inbox)
            out.append(View("shared", name, bx.inbox_box(inbox), name == bx.UNASSIGNED))
    return out


def can_see(p: Principal, conversation_boxes: Iterable[str], subscribed: Iterable[str]) -> bool:
    """Whether `p` may read a conversation filed under `conversation_boxes`."""
    if not p.has_inbox:
        return False
    if sees_all(p):
        return True
    mine = set(readable_boxes(p, subscribed))
    for b in conversation_boxes:
        if b in mine or (b.startswith("inbox:") and sees_all_shared(p)):
            return True
    return False


def can_see_patient(
    p: Principal, conversations: Iterable[Iterable[str]], subscribed: Iterable[str]
) -> bool:
    """Whether `p` may read a patient's data (panel, documents, directory entry): with a
    policy that covers every patient (inbox.full_patient, inbox.api), or when `p` may read at
    least one of the patient's conversations (`conversations`: the boxes of each)."""
    if not p.has_inbox:
        return False
    if sees_all(p):
        return True
    mine = list(subscribed)
    return any(can_see(p, boxes, mine) for boxes in conversations)


def who_could_see(
    box: str,
    staff: Iterable[Principal],
    subscribers: Iterable[str],
) -> list[str]:
    """The users who could read `box`, given who was subscribed to its shared inbox then
    and `staff` with their roles and policies then (X-ASOF-1b: access_history)."""
    subs = set(subscribers)
    out = []
    for p in staff:
        if not p.has_inbox:
            continue
        kind, _, owner = box.partition(":")
        if box.startswith("inbox:"):
            ok = sees_all_shared(p) or p.user_id in subs
        elif kind in ("all", "all_unrec"):
            ok = sees_all(p)
        elif kind in ("careteam", "careteam_unrec"):
            ok = (p.user_id == owner and has_care_team(p)) or API in p.policies
        else:
            ok = p.user_id == owner or API in p.policies
        if ok:
            out.append(p.user_id)
    return sorted(out)
