""" "Why did this go to these people, and why not to that person?" (X-EXPLAIN-1). Pure.

Answered from the stored decision and the configuration as it stood when the decision was
made, never from today's settings: a subscription changed since does not rewrite history.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.events import MessageRouted
from switchboard.router.catalogue import LOCATION_UNKNOWN, PROVIDER_UNKNOWN
from switchboard.router.practice_config import PracticeConfig
from switchboard.rules.boxes import UNASSIGNED


@dataclass(frozen=True, slots=True)
class Check:
    rule: str
    dimension: str  # reason | location | provider | subscription | settings | inbox
    needed: str | None
    has: tuple[str, ...]
    ok: bool


@dataclass(frozen=True, slots=True)
class StaffExplanation:
    staff_id: str
    received: bool
    summary: str
    checks: tuple[Check, ...]
    settings_version: int
    subscriptions_version: int


def explain_staff(
    decision: MessageRouted, config: PracticeConfig, staff_id: str
) -> StaffExplanation:
    """Whether `staff_id` received `decision`, and which enabled dimension decided it."""
    settings = config.settings
    sub = config.subscriptions.get(staff_id)
    received = staff_id in decision.recipients

    def answer(summary: str, checks: list[Check]) -> StaffExplanation:
        return StaffExplanation(
            staff_id,
            received,
            summary,
            tuple(checks),
            settings.version,
            config.subscriptions_version,
        )

    checks: list[Check] = []
    watches_unassigned = sub is not None and UNASSIGNED in sub.inboxes
    checks.append(
        Check(
            "R-SUB-2",
            "inbox",
            UNASSIGNED,
            tuple(sorted(sub.inboxes)) if sub else (),
            watches_unassigned,
        )
    )
    if decision.assignee == staff_id:
        return answer("auto-assigned to them (X-BALANCE-1)", checks)
    if not settings.any_dimension:
        checks.append(Check("R-SUB-1", "settings", None, (), False))
        return answer(
            "no routing dimension was on: the message went to Unassigned only (R-SUB-2)", checks
        )
    if sub is None:
        checks.append(Check("R-SUB-1", "subscription", None, (), False))
        return answer("not subscribed to anything at the time (R-SUB-1)", checks)
    wanted: list[tuple[str, str, frozenset[str] | set[str]]] = []
    if settings.reason_routing:
        wanted.append(("reason", decision.reason, set(sub.reasons)))
    if settings.location_routing:
        wanted.append(("location", decision.location_id or LOCATION_UNKNOWN, set(sub.locations)))
    if settings.provider_routing:
        wanted.append(("provider", decision.provider_id or PROVIDER_UNKNOWN, set(sub.providers)))
    missing = []
    for dimension, needed, has in wanted:
        ok = needed in has
        checks.append(Check("R-SUB-1", dimension, needed, tuple(sorted(has)), ok))
        if not ok:
            missing.append(f"{dimension} {needed}")
    if missing:
        return answer("not subscribed to " + " and ".join(missing) + " (R-SUB-1)", checks)
    return answer("subscribed to every enabled dimension: received it (R-SUB-1)", checks)
