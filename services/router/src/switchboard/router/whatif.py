"""What-if (X-WHATIF-1): replay past messages under proposed settings or subscriptions.

Each past message is decided twice, against the state it met at the time: once with the
current settings/subscriptions, once with the proposed ones. Limits, by design: the chain
of a conversation is not re-simulated (a changed reason does not feed the next message's
stickiness), and patients who were never shown a picker have no pick to replay.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from switchboard.router.catalogue import LOCATION_UNKNOWN
from switchboard.router.decision import Decision, decide
from switchboard.router.model import InboundMessage, RouterState, RoutingSettings, Subscription
from switchboard.rules.boxes import UNASSIGNED

# The label used for a dimension that is off in the settings being replayed.
ANY = "*"


@dataclass(frozen=True, slots=True)
class StaffChange:
    staff_id: str
    before: int  # messages received under the current routing
    after: int  # ... under the proposed routing
    gained: int  # received only under the proposal
    lost: int  # received only under the current routing


@dataclass(frozen=True)
class WhatIfReport:
    messages: int
    changed: int  # messages whose recipients differ
    staff: tuple[StaffChange, ...]  # everyone who receives anything either way, by id
    # (reason, location) -> messages that reach only Unassigned: nobody, no other inbox.
    unassigned_only_before: Mapping[tuple[str, str], int]
    unassigned_only_after: Mapping[tuple[str, str], int]


def _only_unassigned(decision: Decision) -> bool:
    return not decision.recipients and decision.inboxes == (UNASSIGNED,) and not decision.assignee


def _bucket(decision: Decision, settings: RoutingSettings) -> tuple[str, str]:
    reason = decision.reason if settings.reason_routing else ANY
    location = (decision.location_id or LOCATION_UNKNOWN) if settings.location_routing else ANY
    return reason, location


def what_if(
    history: Iterable[tuple[InboundMessage, RouterState]],
    current: RoutingSettings,
    proposed: RoutingSettings,
    current_subscriptions: Sequence[Subscription] | None = None,
    proposed_subscriptions: Sequence[Subscription] | None = None,
) -> WhatIfReport:
    """Compare who would have received each past message. Subscriptions left as None are
    the ones each message met at the time (from its RouterState)."""
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    gained: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    orphans_before: Counter[tuple[str, str]] = Counter()
    orphans_after: Counter[tuple[str, str]] = Counter()
    messages = changed = 0
    for message, state in history:
        messages += 1
        at = message.received_at
        old = decide(message, _with(state, current_subscriptions), current, at)
        new = decide(message, _with(state, proposed_subscriptions), proposed, at)
        old_set, new_set = set(old.recipients), set(new.recipients)
        before.update(old_set)
        after.update(new_set)
        gained.update(new_set - old_set)
        lost.update(old_set - new_set)
        changed += old_set != new_set
        if _only_unassigned(old):
            orphans_before[_bucket(old, current)] += 1
        if _only_unassigned(new):
            orphans_after[_bucket(new, proposed)] += 1
    staff = tuple(
        StaffChange(s, before[s], after[s], gained[s], lost[s]) for s in sorted(before | after)
    )
    return WhatIfReport(messages, changed, staff, dict(orphans_before), dict(orphans_after))


def _with(state: RouterState, subscriptions: Sequence[Subscription] | None) -> RouterState:
    return state if subscriptions is None else replace(state, subscriptions=tuple(subscriptions))
