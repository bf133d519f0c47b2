"""What-if (X-WHATIF-1): replay past messages under proposed settings or subscriptions.

Each past message is decided twice, against the state it met at the time: once with the
current settings/subscriptions, once with the proposed ones.

- X-WHATIF-1a  Chained effects are re-simulated: messages are replayed in order, and each
  side carries its own conversation reason forward (`next_conversation_state`), so a reason
  the proposal sets (or clears) feeds the next message's stickiness (R-STICKY-1). The rest
  of a conversation's state (status, assignee, what staff did) is the one it met live.
- X-WHATIF-1b  Per staff member, the reason x location combinations they gain or lose (a
  message they receive only under the proposal, or only today), each with its message count
  and up to EXAMPLES example conversations.

Limits, by design: patients who were never shown a picker have no pick to replay, and the
patient's profile location is not re-simulated.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from switchboard.router.catalogue import LOCATION_UNKNOWN
from switchboard.router.decision import Decision, decide, next_conversation_state
from switchboard.router.model import (
    ConversationState,
    InboundMessage,
    RouterState,
    RoutingSettings,
    Subscription,
)
from switchboard.rules.boxes import UNASSIGNED

# The label used for a dimension that is off in the settings being replayed.
ANY = "*"
# Example conversations kept per staff member x combination (X-WHATIF-1b).
EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class ComboChange:
    """Messages of one reason x location a staff member gains or loses (X-WHATIF-1b)."""

    staff_id: str
    change: str  # "gained" | "lost"
    reason: str
    location: str
    messages: int
    examples: tuple[uuid.UUID, ...]  # conversation ids, first seen first


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
    combos: tuple[ComboChange, ...] = field(default=())  # by staff, change, reason, location


def _only_unassigned(decision: Decision) -> bool:
    return not decision.recipients and decision.inboxes == (UNASSIGNED,) and not decision.assignee


def _bucket(decision: Decision, settings: RoutingSettings) -> tuple[str, str]:
    reason = decision.reason if settings.reason_routing else ANY
    location = (decision.location_id or LOCATION_UNKNOWN) if settings.location_routing else ANY
    return reason, location


def _combo(decision: Decision) -> tuple[str, str]:
    return decision.reason, decision.location_id or LOCATION_UNKNOWN


def _chained(recorded: ConversationState | None, simulated: ConversationState | None) -> Any:
    """The state a message meets on one side (X-WHATIF-1a): the one it met live, with the
    reason that side's own replay gave the conversation. A message that met no conversation
    opened it (that does not depend on routing)."""
    if simulated is None or recorded is None:
        return recorded
    return replace(recorded, reason=simulated.reason, reason_set_at=simulated.reason_set_at)


class _Side:
    """One side of the replay: its configuration and each conversation's simulated state."""

    def __init__(
        self, settings: RoutingSettings, subscriptions: Sequence[Subscription] | None
    ) -> None:
        self.settings = settings
        self.subscriptions = subscriptions
        self.chain: dict[uuid.UUID, ConversationState] = {}

    def decide(self, message: InboundMessage, state: RouterState) -> Decision:
        met = _with(state, self.subscriptions)
        previous = self.chain.get(message.conversation_id)
        if previous is not None:
            met = replace(met, conversation=_chained(state.conversation, previous))
        decision = decide(message, met, self.settings, message.received_at)
        self.chain[message.conversation_id] = next_conversation_state(
            met.conversation, message, decision
        )
        return decision


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
    combos: dict[tuple[str, str, str, str], list[uuid.UUID]] = {}
    combo_counts: Counter[tuple[str, str, str, str]] = Counter()
    today, proposal = _Side(current, current_subscriptions), _Side(proposed, proposed_subscriptions)
    messages = changed = 0
    for message, state in sorted(history, key=lambda h: (h[0].received_at, h[0].message_id)):
        messages += 1
        old = today.decide(message, state)
        new = proposal.decide(message, state)
        old_set, new_set = set(old.recipients), set(new.recipients)
        before.update(old_set)
        after.update(new_set)
        gained.update(new_set - old_set)
        lost.update(old_set - new_set)
        changed += old_set != new_set
        for kind, who, decision in (
            ("gained", new_set - old_set, new),
            ("lost", old_set - new_set, old),
        ):
            for s in who:
                key = (s, kind, *_combo(decision))
                combo_counts[key] += 1
                seen = combos.setdefault(key, [])
                if len(seen) < EXAMPLES and message.conversation_id not in seen:
                    seen.append(message.conversation_id)
        if _only_unassigned(old):
            orphans_before[_bucket(old, current)] += 1
        if _only_unassigned(new):
            orphans_after[_bucket(new, proposed)] += 1
    staff = tuple(
        StaffChange(s, before[s], after[s], gained[s], lost[s]) for s in sorted(before | after)
    )
    changes = tuple(
        ComboChange(k[0], k[1], k[2], k[3], combo_counts[k], tuple(combos[k]))
        for k in sorted(combos)
    )
    return WhatIfReport(
        messages, changed, staff, dict(orphans_before), dict(orphans_after), changes
    )


def _with(state: RouterState, subscriptions: Sequence[Subscription] | None) -> RouterState:
    return state if subscriptions is None else replace(state, subscriptions=tuple(subscriptions))
