"""A practice's routing configuration, folded from its config events (X-ASOF-1). Pure.

The router keeps the latest fold per practice and, beside every change, the fold as it stood
right after it, so "what were the settings, and was this person subscribed, at time T" is
one lookup of the last change at or before T.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from switchboard.events import (
    AutoAssignPolicySet,
    Event,
    PracticeNotificationSettingsChanged,
    ProposedSubscription,
    ReasonAdded,
    ReasonDescribed,
    ReasonMenuSet,
    RoutingProposalApplied,
    RoutingSettingsChanged,
    StaffAvailabilityChanged,
    StaffSubscriptionsSet,
    VoicemailExtensionMapped,
)
from switchboard.router.model import RoutingSettings, StaffAvailability, Subscription
from switchboard.rules.availability import Availability, Shift

CONFIG_EVENTS = (
    RoutingSettingsChanged,
    StaffSubscriptionsSet,
    VoicemailExtensionMapped,
    ReasonAdded,
    ReasonDescribed,
    AutoAssignPolicySet,
    ReasonMenuSet,
    # Not routing settings, but auto-assignment never picks someone away (X-BALANCE-1).
    StaffAvailabilityChanged,
    PracticeNotificationSettingsChanged,
    RoutingProposalApplied,
)


@dataclass(frozen=True)
class PracticeConfig:
    """Settings (versioned by `settings.version`) and subscriptions (by `subscriptions_version`)."""

    settings: RoutingSettings
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    subscriptions_version: int = 0
    availability: dict[str, Availability] = field(default_factory=dict)
    timezone: str = "UTC"
    # Every applied change, counted: the position of this fold in the practice's history.
    seq: int = 0
    # The office the patient page shows (X-PATIENTPAGE-1), from the notification settings:
    # the response target, business hours (weekday 0 = Monday, "HH:MM", "HH:MM" or "24:00")
    # and holidays (ISO dates).
    sla_minutes: int | None = None
    business_hours: tuple[tuple[int, str, str], ...] = ()
    holidays: tuple[str, ...] = ()

    @classmethod
    def initial(cls, practice_id: str) -> PracticeConfig:
        """Every dimension off, nobody subscribed: the product's default (section 2)."""
        return cls(RoutingSettings(practice_id))

    @property
    def subscription_list(self) -> tuple[Subscription, ...]:
        return tuple(self.subscriptions[s] for s in sorted(self.subscriptions))

    def away_at(self, at: datetime) -> dict[str, StaffAvailability]:
        """Who is away at `at`, in the form `decide` reads (only the away ones)."""
        return {
            staff: StaffAvailability(away=True)
            for staff, a in self.availability.items()
            if a.away(at, self.timezone)
        }

    def apply(self, event: Event) -> PracticeConfig:
        """The configuration after one config event; anything else leaves it unchanged."""
        if event.practice_id != self.settings.practice_id:
            raise ValueError("config event of another practice (T-1)")
        changed = self._apply(event)
        return changed if changed is self else replace(changed, seq=self.seq + 1)

    def _apply(self, event: Event) -> PracticeConfig:
        s = self.settings
        if isinstance(event, StaffAvailabilityChanged):
            availability = dict(self.availability)
            availability[event.staff_id] = Availability(
                event.out_of_office_from,
                event.out_of_office_until,
                tuple(Shift(w.weekday, w.start, w.end) for w in event.shifts),
            )
            return replace(self, availability=availability)
        if isinstance(event, PracticeNotificationSettingsChanged):
            return replace(
                self,
                timezone=event.timezone,
                sla_minutes=event.sla_minutes,
                business_hours=tuple((w.weekday, w.start, w.end) for w in event.business_hours),
                holidays=tuple(d.isoformat() for d in event.holidays),
            )
        if isinstance(event, StaffSubscriptionsSet):
            return self._subscribed([event])
        if isinstance(event, RoutingProposalApplied):
            # X-WHATIF-1c: one change: one settings version and one subscriptions version
            changed = self._subscribed(event.subscriptions) if event.subscriptions else self
            s = replace(
                s,
                reason_routing=_pick(event.reason_routing, s.reason_routing),
                location_routing=_pick(event.location_routing, s.location_routing),
                provider_routing=_pick(event.provider_routing, s.provider_routing),
            )
            return replace(changed, settings=replace(s, version=s.version + 1))
        if isinstance(event, RoutingSettingsChanged):
            s = replace(
                s,
                reason_routing=_pick(event.reason_routing, s.reason_routing),
                location_routing=_pick(event.location_routing, s.location_routing),
                provider_routing=_pick(event.provider_routing, s.provider_routing),
            )
        elif isinstance(event, VoicemailExtensionMapped):
            extensions = dict(s.voicemail_extensions)
            if event.target is None:
                extensions.pop(event.extension, None)
            else:
                extensions[event.extension] = event.target
            s = replace(s, voicemail_extensions=extensions)
        elif isinstance(event, ReasonAdded):
            s = replace(s, extra_reasons={**s.extra_reasons, event.code: event.label})
        elif isinstance(event, ReasonDescribed):
            described = dict(s.reason_descriptions)
            if event.description is None:
                described.pop(event.code, None)
            else:
                described[event.code] = event.description
            s = replace(s, reason_descriptions=described)
        elif isinstance(event, ReasonMenuSet):
            key = "*" if event.line is None else event.line.strip().lower()  # menu.line_key
            menus = {**s.reason_menu, key: (event.enabled, event.window_minutes)}
            s = replace(s, reason_menu=menus)
        elif isinstance(event, AutoAssignPolicySet):
            policies = {**s.auto_assign, event.inbox: event.policy}
            if event.policy is None:
                policies.pop(event.inbox)
            s = replace(s, auto_assign=policies)
        else:
            return self
        return replace(self, settings=replace(s, version=s.version + 1))

    def _subscribed(
        self, subscriptions: Iterable[StaffSubscriptionsSet | ProposedSubscription]
    ) -> PracticeConfig:
        """Each named staff member's whole subscription replaced; one new version."""
        subs = dict(self.subscriptions)
        for event in subscriptions:
            sub = Subscription(
                event.staff_id,
                reasons=frozenset(event.reasons),
                locations=frozenset(event.locations),
                providers=frozenset(event.providers),
                inboxes=frozenset(event.inboxes),
            )
            if sub.reasons or sub.locations or sub.providers or sub.inboxes:
                subs[event.staff_id] = sub
            else:
                subs.pop(event.staff_id, None)
        return replace(
            self, subscriptions=subs, subscriptions_version=self.subscriptions_version + 1
        )

    # --- JSON, for the router's tables -------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        s = self.settings
        return {
            "practice_id": s.practice_id,
            "version": s.version,
            "reason_routing": s.reason_routing,
            "location_routing": s.location_routing,
            "provider_routing": s.provider_routing,
            "voicemail_extensions": dict(sorted(s.voicemail_extensions.items())),
            "extra_reasons": dict(sorted(s.extra_reasons.items())),
            "reason_descriptions": dict(sorted(s.reason_descriptions.items())),
            "auto_assign": dict(sorted(s.auto_assign.items())),
            "textable_numbers": sorted(s.textable_numbers),
            "reason_menu": {k: list(v) for k, v in sorted(s.reason_menu.items())},
            "subscriptions_version": self.subscriptions_version,
            "subscriptions": [subscription_json(sub) for sub in self.subscription_list],
            "timezone": self.timezone,
            "seq": self.seq,
            "office": {
                "sla_minutes": self.sla_minutes,
                "business_hours": [list(w) for w in self.business_hours],
                "holidays": list(self.holidays),
            },
            "availability": {
                staff: {
                    "from": a.out_of_office_from.isoformat() if a.out_of_office_from else None,
                    "until": a.out_of_office_until.isoformat() if a.out_of_office_until else None,
                    "shifts": [[x.weekday, x.start, x.end] for x in a.shifts],
                }
                for staff, a in sorted(self.availability.items())
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PracticeConfig:
        settings = RoutingSettings(
            practice_id=data["practice_id"],
            version=data["version"],
            reason_routing=data["reason_routing"],
            location_routing=data["location_routing"],
            provider_routing=data["provider_routing"],
            voicemail_extensions=data["voicemail_extensions"],
            extra_reasons=data["extra_reasons"],
            reason_descriptions=data.get("reason_descriptions", {}),
            auto_assign=data["auto_assign"],
            textable_numbers=frozenset(data["textable_numbers"]),
            reason_menu={k: (v[0], v[1]) for k, v in data.get("reason_menu", {}).items()},
        )
        subs = {
            d["staff_id"]: Subscription(
                d["staff_id"],
                reasons=frozenset(d["reasons"]),
                locations=frozenset(d["locations"]),
                providers=frozenset(d["providers"]),
                inboxes=frozenset(d["inboxes"]),
            )
            for d in data["subscriptions"]
        }
        availability = {
            staff: Availability(
                datetime.fromisoformat(a["from"]) if a["from"] else None,
                datetime.fromisoformat(a["until"]) if a["until"] else None,
                tuple(Shift(*x) for x in a["shifts"]),
            )
            for staff, a in data.get("availability", {}).items()
        }
        office = data.get("office") or {}
        return cls(
            settings,
            subs,
            data["subscriptions_version"],
            availability,
            data.get("timezone", "UTC"),
            data.get("seq", settings.version + data["subscriptions_version"]),
            sla_minutes=office.get("sla_minutes"),
            business_hours=tuple((w[0], w[1], w[2]) for w in office.get("business_hours", [])),
            holidays=tuple(office.get("holidays", [])),
        )


def subscription_json(sub: Subscription) -> dict[str, Any]:
    return {
        "staff_id": sub.staff_id,
        "reasons": sorted(sub.reasons),
        "locations": sorted(sub.locations),
        "providers": sorted(sub.providers),
        "inboxes": sorted(sub.inboxes),
    }


def _pick(new: bool | None, old: bool) -> bool:
    return old if new is None else new
