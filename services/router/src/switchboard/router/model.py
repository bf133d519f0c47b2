"""The router's inputs: plain frozen values, built by the handler from its stored state.

Nothing here reads a clock, a database or Kafka, so `decide` can be replayed on the same
inputs (X-REPLAY-1, X-WHATIF-1) and give the same answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, get_args

from switchboard.events import AppointmentChanged, Channel, MessageReceived
from switchboard.rules.boxes import SHARED_PREFIX

AutoAssignPolicy = Literal["round_robin", "least_open"]
ConversationStatus = Literal["open", "closed"]

# R-STICKY-1 / R-REASON-3: a message this close to the previous one is the same topic.
STICKY_WINDOW = timedelta(hours=1)


def _frozen(values: Iterable[str]) -> frozenset[str]:
    return values if isinstance(values, frozenset) else frozenset(values)


@dataclass(frozen=True)
class RoutingSettings:
    """A practice's routing settings; `version` increases on every change (R-EXPLAIN-1).

    `voicemail_extensions` maps an extension to a reason code ("press 3 for refills",
    R-OVERWRITE-1) or to a custom shared inbox written "shared:<inbox id>" (R-VOICEMAIL-1).
    `auto_assign` maps an inbox ("unassigned" or "shared:<id>") to its policy; an inbox that
    is absent, or mapped to None, is not auto-assigned (X-BALANCE-1 is off by default).
    `textable_numbers` are the practice's textable numbers; empty means every practice number
    an SMS arrives on is textable (the usual single-line practice).
    `reason_menu` is the SMS / email reason menu per line (menu.py, X-MENU-2).
    """

    practice_id: str
    version: int = 0
    reason_routing: bool = False
    location_routing: bool = False
    provider_routing: bool = False
    voicemail_extensions: Mapping[str, str] = field(default_factory=dict)
    extra_reasons: Mapping[str, str] = field(default_factory=dict)
    # Reason code -> the description the patient page shows instead of the default one.
    reason_descriptions: Mapping[str, str] = field(default_factory=dict)
    auto_assign: Mapping[str, AutoAssignPolicy | None] = field(default_factory=dict)
    textable_numbers: frozenset[str] = frozenset()
    # The SMS / email reason menu (X-MENU-1): line (lower-case) or "*" for the practice ->
    # (on, answer window in minutes). Absent: off.
    reason_menu: Mapping[str, tuple[bool, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        allowed = set(get_args(AutoAssignPolicy))
        for inbox, policy in self.auto_assign.items():
            if policy is not None and policy not in allowed:
                raise ValueError(f"unknown auto-assign policy {policy!r} for inbox {inbox!r}")
        object.__setattr__(self, "textable_numbers", _frozen(self.textable_numbers))

    @property
    def any_dimension(self) -> bool:
        return self.reason_routing or self.location_routing or self.provider_routing

    def voicemail_target(self, extension: str | None) -> tuple[str | None, str | None]:
        """(reason code, shared inbox) the extension maps to; at most one is set."""
        if extension is None:
            return None, None
        target = self.voicemail_extensions.get(extension)
        if target is None:
            return None, None
        if target.startswith(SHARED_PREFIX):
            return None, target
        return target, None


@dataclass(frozen=True)
class Subscription:
    """What one staff member subscribed to (R-SUB-1); "other", "location_unknown" and
    "provider_unknown" are ordinary members of these sets. `inboxes` are the shared inboxes
    they watch ("unassigned", "shared:<id>"), which is who auto-assignment picks from."""

    staff_id: str
    reasons: AbstractSet[str] = frozenset()
    locations: AbstractSet[str] = frozenset()
    providers: AbstractSet[str] = frozenset()
    inboxes: AbstractSet[str] = frozenset()

    def __post_init__(self) -> None:
        # Callers may pass plain sets; store frozensets so a subscription stays immutable.
        for name in ("reasons", "locations", "providers", "inboxes"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))


@dataclass(frozen=True, slots=True)
class NextAppointment:
    """The patient's next upcoming appointment, as last heard from the PM system."""

    appointment_id: str
    start: datetime
    version: int = 0
    location_id: str | None = None
    provider_id: str | None = None
    # The AppointmentChanged event this came from, so a decision can cite it (X-REROUTE-1).
    event_id: uuid.UUID | None = None

    @classmethod
    def from_event(cls, event: AppointmentChanged) -> NextAppointment:
        return cls(
            appointment_id=event.appointment_id,
            start=event.start,
            version=event.source_version,
            location_id=event.location_id,
            provider_id=event.provider_id,
            event_id=event.event_id,
        )


@dataclass(frozen=True, slots=True)
class ConversationState:
    """What the router remembers about a conversation between messages.

    `assigned` means the conversation currently sits in someone's inbox or any shared inbox,
    Unassigned included (R-REASON-3); closing it should clear it. `assignee` is the person
    holding it, if any. `reason` is None when no reason is set or it was cleared.
    `location_id` / `provider_id` are the labels of the last decision, so a re-route can
    tell whether anything changed.
    """

    conversation_id: uuid.UUID
    reason: str | None = None
    reason_set_at: datetime | None = None
    last_patient_message_at: datetime | None = None
    assigned: bool = False
    status: ConversationStatus = "open"
    patient_read_last_practice_message: bool = True
    patient_id: str | None = None
    assignee: str | None = None
    location_id: str | None = None
    provider_id: str | None = None
    # Custom shared inboxes it sits in besides Unassigned (voicemail routing, R-VOICEMAIL-1),
    # kept so a re-route does not drop it from them.
    shared_inboxes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PatientState:
    patient_id: str
    profile_location_id: str | None = None
    # Provider routing works like location routing (R-PROV-1), profile included.
    profile_provider_id: str | None = None
    next_appointment: NextAppointment | None = None


@dataclass(frozen=True, slots=True)
class StaffAvailability:
    away: bool = False


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """The part of MessageReceived that routing looks at."""

    message_id: uuid.UUID
    conversation_id: uuid.UUID
    practice_id: str
    channel: Channel
    recipient: str
    received_at: datetime
    patient_id: str | None = None
    selected_reason: str | None = None
    voicemail_extension: str | None = None
    is_to_textable_number: bool = False
    # The reason the patient's answer to the SMS / email menu named (X-MENU-3); set by the
    # router when the waiting message is routed, never by a channel.
    menu_pick: str | None = None

    @classmethod
    def from_event(cls, event: MessageReceived, settings: RoutingSettings) -> InboundMessage:
        textable = event.channel == "sms" and (
            not settings.textable_numbers or event.recipient in settings.textable_numbers
        )
        return cls(
            message_id=event.message_id,
            conversation_id=event.conversation_id,
            practice_id=event.practice_id,
            channel=event.channel,
            recipient=event.recipient,
            received_at=event.received_at,
            patient_id=event.patient_id,
            selected_reason=event.selected_reason,
            voicemail_extension=event.voicemail_extension,
            is_to_textable_number=textable,
        )


@dataclass(frozen=True)
class RouterState:
    """Everything `decide` needs besides the message and the settings.

    Settings are passed beside it, not inside, so a what-if can swap them (X-WHATIF-1).
    `open_work` counts open conversations per staff member and `rr_cursor` is the last
    staff member each inbox round-robined to (X-BALANCE-1). `subscriptions_version` names
    the subscription set used, for the explanation (R-EXPLAIN-1).
    """

    subscriptions: tuple[Subscription, ...] = ()
    subscriptions_version: int = 0
    patient: PatientState | None = None
    conversation: ConversationState | None = None
    availability: Mapping[str, StaffAvailability] = field(default_factory=dict)
    open_work: Mapping[str, int] = field(default_factory=dict)
    rr_cursor: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.subscriptions, tuple):
            object.__setattr__(self, "subscriptions", tuple(self.subscriptions))

    def is_away(self, staff_id: str) -> bool:
        availability = self.availability.get(staff_id)
        return availability is not None and availability.away
