"""Routing configuration as events (R-SUB-1, R-REASON-1, R-VOICEMAIL-1, X-BALANCE-1, X-ASOF-1).

Every change an admin makes is one event naming who (`actor`) and when (`occurred_at`), so
the settings and subscriptions at any past moment can be answered by folding the history.
All of a practice's configuration shares one key, so it is applied in the order it was made.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from switchboard.events.envelope import Event
from switchboard.events.registry import register
from switchboard.events.topics import Topic


class ConfigEvent(Event):
    """A change to a practice's routing configuration, made by `actor` (a user id)."""

    topic = Topic.CONFIG
    actor: str = Field(min_length=1, max_length=128)

    def partition_key(self) -> str:
        return f"{self.practice_id}:config"


@register
class RoutingSettingsChanged(ConfigEvent):
    """Turns routing dimensions on or off; a field left None is unchanged."""

    event_type: Literal["RoutingSettingsChanged"] = "RoutingSettingsChanged"
    version: Literal[1] = 1

    reason_routing: bool | None = None
    location_routing: bool | None = None
    provider_routing: bool | None = None


@register
class StaffSubscriptionsSet(ConfigEvent):
    """A staff member's whole subscription, replacing the previous one (R-SUB-1, R-SUB-3).

    "other", "location_unknown" and "provider_unknown" are ordinary members; `inboxes` are
    the shared inboxes they watch ("unassigned", "shared:<id>"). All empty = unsubscribed.
    """

    event_type: Literal["StaffSubscriptionsSet"] = "StaffSubscriptionsSet"
    version: Literal[1] = 1

    staff_id: str = Field(min_length=1, max_length=128)
    reasons: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    inboxes: tuple[str, ...] = ()


@register
class VoicemailExtensionMapped(ConfigEvent):
    """Maps a voicemail extension to a reason code or a custom shared inbox ("shared:<id>");
    `target` None removes the mapping (R-OVERWRITE-1, R-VOICEMAIL-1)."""

    event_type: Literal["VoicemailExtensionMapped"] = "VoicemailExtensionMapped"
    version: Literal[1] = 1

    extension: str = Field(min_length=1, max_length=16, pattern=r"^[0-9*#]+$", examples=["2"])
    target: str | None = None


@register
class ReasonAdded(ConfigEvent):
    """A platform operator adds a reason to a practice's catalogue (R-REASON-1)."""

    event_type: Literal["ReasonAdded"] = "ReasonAdded"
    version: Literal[1] = 1

    # A short slug, safe in URLs and labels.
    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_]*$")
    label: str = Field(min_length=1, max_length=80)


@register
class ReasonDescribed(ConfigEvent):
    """A practice admin words the one-line description the patient page shows under a reason
    (X-PATIENTPAGE-1); `description` None puts the default back."""

    event_type: Literal["ReasonDescribed"] = "ReasonDescribed"
    version: Literal[1] = 1

    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_]*$")
    description: str | None = Field(default=None, min_length=1, max_length=160)


@register
class AutoAssignPolicySet(ConfigEvent):
    """Auto-assignment for one shared inbox (X-BALANCE-1); `policy` None turns it off."""

    event_type: Literal["AutoAssignPolicySet"] = "AutoAssignPolicySet"
    version: Literal[1] = 1

    inbox: str = Field(min_length=1, max_length=80)
    policy: Literal["round_robin", "least_open"] | None = None


@register
class LineLabelSet(ConfigEvent):
    """A practice admin relabels one of the practice's lines (I-LINE-1): every message the line
    receives from then on carries the label. `channel` is ingest's: sms | voice | email;
    `label` None removes it (the inbox shows the number or address)."""

    event_type: Literal["LineLabelSet"] = "LineLabelSet"
    version: Literal[1] = 1

    channel: Literal["sms", "voice", "email"]
    address: str = Field(min_length=3, max_length=320)
    label: str | None = Field(default=None, max_length=80)


class ProposedSubscription(BaseModel):
    """One staff member's whole subscription in a routing proposal (as StaffSubscriptionsSet)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    staff_id: str = Field(min_length=1, max_length=128)
    reasons: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    inboxes: tuple[str, ...] = ()


@register
class RoutingProposalApplied(ConfigEvent):
    """A saved what-if proposal switched on in one step (X-WHATIF-1c): the settings it gives
    (None: unchanged) and each named staff member's whole subscription, as ONE change: one
    settings version, one subscriptions version."""

    event_type: Literal["RoutingProposalApplied"] = "RoutingProposalApplied"
    version: Literal[1] = 1

    proposal_id: uuid.UUID
    reason_routing: bool | None = None
    location_routing: bool | None = None
    provider_routing: bool | None = None
    subscriptions: tuple[ProposedSubscription, ...] = Field(default=(), max_length=500)
