"""Optional auto-assignment per shared inbox (X-BALANCE-1): never to someone away.

Both policies are deterministic given the state: round robin keeps a cursor (the last
person the inbox assigned to) rather than a counter, so people joining or leaving the inbox
do not reshuffle everyone else's turn.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from switchboard.router.model import AutoAssignPolicy, RouterState, RoutingSettings
from switchboard.rules.boxes import UNASSIGNED


@dataclass(frozen=True, slots=True)
class Assignment:
    staff_id: str
    inbox: str
    policy: AutoAssignPolicy
    candidates: tuple[str, ...]


def available_subscribers(inbox: str, state: RouterState) -> tuple[str, ...]:
    """Staff watching `inbox` who are not away, sorted (the turn order)."""
    return tuple(
        sorted(
            s.staff_id
            for s in state.subscriptions
            if inbox in s.inboxes and not state.is_away(s.staff_id)
        )
    )


def turn_order(candidates: Sequence[str], last: str | None) -> list[str]:
    """Sorted candidates rotated to start just after `last` (who need not be one of them)."""
    if last is None:
        return list(candidates)
    start = bisect_right(candidates, last)
    return [*candidates[start:], *candidates[:start]]


def round_robin(candidates: Sequence[str], last: str | None) -> str | None:
    order = turn_order(candidates, last)
    return order[0] if order else None


def least_open(
    candidates: Sequence[str], open_work: Mapping[str, int], last: str | None
) -> str | None:
    """Fewest open conversations; ties go round robin so equals share the work."""
    order = turn_order(candidates, last)
    if not order:
        return None
    return min(order, key=lambda staff: open_work.get(staff, 0))  # min keeps the first tie


def auto_assign(
    inboxes: Sequence[str], settings: RoutingSettings, state: RouterState
) -> Assignment | None:
    """The assignee from the first inbox with a policy, custom shared inboxes before
    Unassigned (a voicemail sent to "Refills" belongs to the Refills team first)."""
    ordered = [i for i in inboxes if i != UNASSIGNED] + [i for i in inboxes if i == UNASSIGNED]
    for inbox in ordered:
        policy = settings.auto_assign.get(inbox)
        if policy is None:
            continue
        candidates = available_subscribers(inbox, state)
        last = state.rr_cursor.get(inbox)
        if policy == "round_robin":
            staff = round_robin(candidates, last)
        else:
            staff = least_open(candidates, state.open_work, last)
        if staff is not None:
            return Assignment(staff, inbox, policy, candidates)
    return None
