"""Routing coverage (X-COVERAGE-1): which reason x location (x provider) nobody receives.

Such messages would land only in Unassigned. The check uses the same matcher as `decide`,
so it cannot disagree with live routing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Literal

from switchboard.router.catalogue import LOCATION_UNKNOWN, PROVIDER_UNKNOWN, is_known_reason
from switchboard.router.decision import recipients_for
from switchboard.router.model import RoutingSettings, Subscription
from switchboard.router.picker import offered_reasons


@dataclass(frozen=True, slots=True)
class Gap:
    """A combination no subscriber receives; a dimension that is off is None (any value)."""

    reason: str | None
    location: str | None
    provider: str | None


def reasons_in_use(settings: RoutingSettings, subscriptions: Sequence[Subscription]) -> list[str]:
    """Reasons a message can carry: those offered to patients, plus any reason a voicemail
    extension maps to (it arrives even when hidden from the picker). A reason nobody
    subscribes to is hidden on purpose (R-REASON-1), so it is not a gap by itself."""
    codes = [r.code for r in offered_reasons(settings, subscriptions)]
    for target in settings.voicemail_extensions.values():
        if is_known_reason(target, settings.extra_reasons) and target not in codes:
            codes.append(target)
    return codes


def coverage_gaps(
    settings: RoutingSettings,
    subscriptions: Iterable[Subscription],
    locations: Iterable[str] = (),
    providers: Iterable[str] = (),
    away: Collection[str] = (),
) -> tuple[Gap, ...]:
    """Every enabled-dimension combination that no (non-away) subscriber would receive.

    `locations` / `providers` are the practice's known ids; the "unknown" buckets are always
    checked too, since messages without an appointment or profile exist. With no dimension
    enabled nothing is routed at all (Unassigned by design), so there is nothing to warn about.
    """
    if not settings.any_dimension:
        return ()
    everyone = list(subscriptions)
    # Patients are offered reasons whoever is away; only receiving depends on availability.
    reachable = [s for s in everyone if s.staff_id not in away]
    reasons: list[str | None] = [None]
    if settings.reason_routing:
        reasons = list(reasons_in_use(settings, everyone))
    places: list[str | None] = [None]
    if settings.location_routing:
        places = [*sorted(set(locations) - {LOCATION_UNKNOWN}), LOCATION_UNKNOWN]
    doctors: list[str | None] = [None]
    if settings.provider_routing:
        doctors = [*sorted(set(providers) - {PROVIDER_UNKNOWN}), PROVIDER_UNKNOWN]
    return tuple(
        Gap(reason, location, provider)
        for reason, location, provider in product(reasons, places, doctors)
        # A disabled dimension is not filtered, so any placeholder value does for it.
        if not recipients_for(settings, reachable, reason or "", location, provider)
    )


# What the admin's coverage box says (X-COVERAGE-1, I-COVERAGE-1), most urgent first:
# routing off (everything goes to Unassigned by design: said, not praised), nobody
# subscribed to anything routing uses (a warning, never "all covered"), some combinations
# nobody receives (a warning with the list), or every combination has someone.
CoverageState = Literal["routing_off", "nobody_subscribed", "gaps", "covered"]


def subscribers(settings: RoutingSettings, subscriptions: Iterable[Subscription]) -> int:
    """How many people subscribe to something in every dimension routing uses (anyone else
    can never receive a routed message)."""
    wanted = [
        (settings.reason_routing, "reasons"),
        (settings.location_routing, "locations"),
        (settings.provider_routing, "providers"),
    ]
    return sum(1 for s in subscriptions if all(getattr(s, field) for on, field in wanted if on))


def coverage_state(
    settings: RoutingSettings, subscriptions: Iterable[Subscription], gaps: Sequence[Gap]
) -> CoverageState:
    if not settings.any_dimension:
        return "routing_off"
    if not subscribers(settings, subscriptions):
        return "nobody_subscribed"
    return "gaps" if gaps else "covered"
