"""Pure: the router's internal API (under `/internal/practices/{practice_id}`).

    GET  /routing                   RoutingState: configuration, catalogue, directory
    GET  /reasons                   ReasonsOffer (R-REASON-2, R-REASON-3)
    GET  /office                    PracticeOffice: hours and response target (X-PATIENTPAGE-1)
    GET  /reason-menu               ReasonMenuSettings: the SMS / email reason menu (X-MENU-2)
    GET  /coverage                  Coverage (X-COVERAGE-1)
    GET  /config/history            ConfigHistory (X-ASOF-1)
    GET  /config/events/{event_id}  ConfigApplied (404 until applied)
    GET  /conversations/{id}/decisions   ConversationDecisions (X-EXPLAIN-1)
    POST /what-if                   WhatIfRequest -> WhatIfReport (X-WHATIF-1)

Keys that the router leaves out (`subscription` without `staff_id`, a decision's `staff`)
are optional here and left out on the wire: the routes answer with `exclude_unset`.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from switchboard.events.internal.common import IsoDateTime, Place
from switchboard.events.messages import MessageRouted


class Reason(BaseModel):
    code: str
    label: str
    # One line the patient page shows under the reason (X-PATIENTPAGE-1); may be empty.
    description: str = ""


class Subscription(BaseModel):
    staff_id: str
    reasons: list[str]
    locations: list[str]
    providers: list[str]
    inboxes: list[str]


class StaffAvailability(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str | None = Field(alias="from")  # ISO datetimes (out of office)
    until: str | None
    shifts: list[tuple[int, str, str]]  # [weekday (0 = Monday), "HH:MM", "HH:MM" or "24:00"]


class PracticeConfig(BaseModel):
    """A practice's routing configuration (settings and subscriptions) at one point."""

    practice_id: str
    version: int
    reason_routing: bool
    location_routing: bool
    provider_routing: bool
    voicemail_extensions: dict[str, str]
    extra_reasons: dict[str, str]
    # A practice's own reason descriptions (X-PATIENTPAGE-1); older snapshots have none.
    reason_descriptions: dict[str, str] = {}
    auto_assign: dict[str, str | None]
    textable_numbers: list[str]
    subscriptions_version: int
    subscriptions: list[Subscription]
    timezone: str
    seq: int
    availability: dict[str, StaffAvailability]


class RoutingState(PracticeConfig):
    """The current configuration with the reason catalogue and the locations/providers known
    from practice management."""

    reasons: list[Reason]
    locations: list[Place]
    providers: list[Place]


class ReasonsOffer(BaseModel):
    """What the messenger shows: the reasons with a subscriber (plus Other) and whether to
    ask at all in this conversation now; and the whole catalogue (R-REASON-1), which the
    staff inbox names reasons from."""

    reason_routing: bool
    location_routing: bool
    show_picker: bool
    why: str
    reasons: list[Reason]
    catalogue: list[Reason]
    current_reason: str | None


class PracticeOffice(BaseModel):
    """What the patient page shows about the practice's office (X-PATIENTPAGE-1), from its
    notification settings: the response target, business hours and holidays, in its zone."""

    timezone: str
    sla_minutes: int | None
    business_hours: list[tuple[int, str, str]]  # [weekday (0 = Monday), "HH:MM", "HH:MM"]
    holidays: list[str]  # ISO dates


class ReasonMenuSetting(BaseModel):
    """The reason menu on one line, or (`line` null) the practice's own setting."""

    line: str | None = None  # an SMS number or an email address (lower case), as set
    enabled: bool
    window_minutes: int  # how long the patient has to answer


class ReasonMenuSettings(BaseModel):
    """The SMS / email reason menu's settings (X-MENU-2): the practice's (off, 10 minutes
    when never set) and each line that has its own, which wins over the practice's."""

    settings_version: int
    practice: ReasonMenuSetting
    lines: list[ReasonMenuSetting]


class Gap(BaseModel):
    """A combination nobody receives; a dimension that is off is None (any value)."""

    reason: str | None
    location: str | None
    provider: str | None


class Coverage(BaseModel):
    settings_version: int
    subscriptions_version: int
    gaps: list[Gap]
    # routing_off | nobody_subscribed | gaps | covered: what the admin is told (I-COVERAGE-1)
    state: Literal["routing_off", "nobody_subscribed", "gaps", "covered"] = "covered"
    # people subscribed to something in every dimension routing uses
    subscribers: int = 0


class ConfigChange(BaseModel):
    event_id: uuid.UUID
    seq: int
    event_type: str
    actor: str
    occurred_at: IsoDateTime
    change: dict[str, Any]  # the config event's own fields, as it was published
    settings_version: int
    subscriptions_version: int


class ConfigHistory(BaseModel):
    at: IsoDateTime | None
    config: PracticeConfig
    changes: list[ConfigChange]
    subscription: Subscription | None = None  # only with `staff_id` (then null if none)


class ConfigApplied(BaseModel):
    applied: bool


class Check(BaseModel):
    rule: str
    dimension: str  # reason | location | provider | subscription | settings | inbox
    needed: str | None
    has: list[str]
    ok: bool


class StaffExplanation(BaseModel):
    """Why one person did or did not receive a decision."""

    staff_id: str
    received: bool
    summary: str
    checks: list[Check]
    settings_version: int
    subscriptions_version: int


class ExplainedDecision(BaseModel):
    decision: MessageRouted
    staff: StaffExplanation | None = None  # only with `staff_id`


class ConversationDecisions(BaseModel):
    conversation_id: uuid.UUID
    decisions: list[ExplainedDecision]


class ProposedSubscription(BaseModel):
    staff_id: str = Field(min_length=1, max_length=128)
    reasons: list[str] = []
    locations: list[str] = []
    providers: list[str] = []
    inboxes: list[str] = []


class WhatIfRequest(BaseModel):
    days: float = Field(default=7, gt=0, le=90)
    reason_routing: bool | None = None
    location_routing: bool | None = None
    provider_routing: bool | None = None
    # None keeps today's subscriptions; a list replaces the named people's subscriptions.
    subscriptions: list[ProposedSubscription] | None = None


class StaffChange(BaseModel):
    staff_id: str
    before: int  # messages received under the current routing
    after: int  # ... under the proposed routing
    gained: int  # received only under the proposal
    lost: int  # received only under the current routing


class UnassignedBucket(BaseModel):
    """Messages of one reason x location that reach only Unassigned."""

    reason: str
    location: str
    messages: int


class ComboChange(BaseModel):
    """A reason x location a staff member gains or loses, with example conversations
    (X-WHATIF-1b)."""

    staff_id: str
    change: Literal["gained", "lost"]
    reason: str
    location: str
    messages: int
    examples: list[uuid.UUID]


class WhatIfReport(BaseModel):
    days: float
    messages: int
    changed: int
    staff: list[StaffChange]
    unassigned_only_before: list[UnassignedBucket]
    unassigned_only_after: list[UnassignedBucket]
    combos: list[ComboChange] = Field(default_factory=list)
