"""The reports read model's fold (X-REPORT-1): per conversation, the facts the reports need,
and the practices' report settings. Pure.

Every field merges as a join: the earliest (opened at, first response), the latest (last
inbound, last response), or the value of the latest event time (status, reason, settings), with
a fixed tie-break. So applying events in any order, or one twice, gives the same facts: the
live consumer may see the six topics interleaved in any order, and a rebuild may re-apply what
the live consumer already did, and both end with the same rows (X-REPLAY-1).

Definitions (the reports compute from these; see the gateway's report_figures.py):
- X-REPORT-2 *Opened at*: the conversation's first patient message (`MessageReceived`,
  received_at). *First staff response*: the first `ReplySent` by a staff member (not the
  system's automatic replies), at its sent_at. ReplySent, not ReplyRequested: a reply that
  failed (ReplyFailed) never reached the patient, and the SLA timer (X-SLA-1) stops on
  ReplySent too, so "answered within the SLA" and "first response" mean the same instant.
  The *responder* is who sent that reply.
- X-REPORT-3 *Closed at*: the time of the close that left the conversation closed (the
  latest status change, `ConversationStatusChanged`; a patient message reopens it, I-STATUS-1).
  A conversation open now has no close time. *Closed by*: who closed it.
- Reason and location: those of the latest routing decision (`MessageRouted`, decided_at);
  channel: that of the first message.
- X-REPORT-5 *SLA*: the notifier escalates (`ConversationEscalated`) when a response timer
  runs out; the earliest escalation's timer start is kept. The first response was late when an
  escalation's timer started at or before it (the first timer runs until the first reply).
- Practice settings (`PracticeNotificationSettingsChanged`, the notifier's): time zone and
  response targets, the latest.

No patient data: ids, times, channel, reason and location ids, staff ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from switchboard.events import (
    ConversationEscalated,
    ConversationStatusChanged,
    Event,
    MessageReceived,
    MessageRouted,
    PracticeNotificationSettingsChanged,
    ReplySent,
    Topic,
)

# Staff id of the system's own replies and actions (the inbox projection's too).
SYSTEM = "system"

REPORT_TOPICS = [
    Topic.MESSAGES,
    Topic.ROUTING,
    Topic.ACTIONS,
    Topic.DELIVERY,
    Topic.CONFIG,
    Topic.NOTIFICATIONS,
]

HANDLED = (
    MessageReceived,
    MessageRouted,
    ConversationStatusChanged,
    ReplySent,
    ConversationEscalated,
    PracticeNotificationSettingsChanged,
)


def _earliest(
    a: tuple[datetime, str] | None, b: tuple[datetime, str] | None
) -> tuple[datetime, str] | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


@dataclass(frozen=True)
class Facts:
    """What the reports know of one conversation. Merge with `merge` (a join: commutative,
    associative, idempotent)."""

    conversation_id: uuid.UUID
    practice_id: str
    opened_at: datetime | None = None
    channel: str | None = None
    # (decided_at, reason, location): the latest decision's
    routed: tuple[datetime, str, str] | None = None
    # (sent_at, staff): the first staff reply
    first_response: tuple[datetime, str] | None = None
    last_response_at: datetime | None = None
    last_inbound_at: datetime | None = None
    # (at, rank, status, actor): the latest status; at a tie "open" (rank 1) wins
    status: tuple[datetime, int, str, str] | None = None
    escalation_started_at: datetime | None = None

    def merge(self, other: Facts) -> Facts:
        opened = _earliest(
            (self.opened_at, self.channel or "") if self.opened_at else None,
            (other.opened_at, other.channel or "") if other.opened_at else None,
        )
        return replace(
            self,
            opened_at=opened[0] if opened else None,
            channel=(opened[1] or None) if opened else (self.channel or other.channel),
            routed=max(filter(None, (self.routed, other.routed)), default=None),
            first_response=_earliest(self.first_response, other.first_response),
            last_response_at=_latest(self.last_response_at, other.last_response_at),
            last_inbound_at=_latest(self.last_inbound_at, other.last_inbound_at),
            status=max(filter(None, (self.status, other.status)), default=None),
            escalation_started_at=_min(self.escalation_started_at, other.escalation_started_at),
        )

    def row(self) -> dict[str, Any]:
        status = self.status[2] if self.status else "open"
        closed = self.status is not None and status == "closed"
        return {
            "conversation_id": self.conversation_id,
            "practice_id": self.practice_id,
            "opened_at": self.opened_at,
            "channel": self.channel,
            "routed_at": self.routed[0] if self.routed else None,
            "reason": self.routed[1] if self.routed else None,
            "location_id": (self.routed[2] or None) if self.routed else None,
            "first_response_at": self.first_response[0] if self.first_response else None,
            "responder": self.first_response[1] if self.first_response else None,
            "last_response_at": self.last_response_at,
            "last_inbound_at": self.last_inbound_at,
            "status": status,
            "status_at": self.status[0] if self.status else None,
            "status_actor": self.status[3] if self.status else None,
            "closed_at": self.status[0] if closed and self.status else None,
            "closed_by": self.status[3] if closed and self.status else None,
            "escalation_started_at": self.escalation_started_at,
        }

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Facts:
        status = None
        if r["status_at"] is not None:
            status = (
                r["status_at"],
                1 if r["status"] == "open" else 0,
                r["status"],
                r["status_actor"] or "",
            )
        return cls(
            conversation_id=r["conversation_id"],
            practice_id=r["practice_id"],
            opened_at=r["opened_at"],
            channel=r["channel"],
            routed=(r["routed_at"], r["reason"], r["location_id"] or "")
            if r["routed_at"] is not None
            else None,
            first_response=(r["first_response_at"], r["responder"])
            if r["first_response_at"] is not None
            else None,
            last_response_at=r["last_response_at"],
            last_inbound_at=r["last_inbound_at"],
            status=status,
            escalation_started_at=r["escalation_started_at"],
        )


@dataclass(frozen=True)
class PracticeSettings:
    """A practice's settings the reports use, from the latest notification settings."""

    practice_id: str
    changed_at: datetime
    event_id: uuid.UUID
    timezone: str = "UTC"
    sla_minutes: int | None = None
    sla_by_reason: dict[str, int] = field(default_factory=dict)

    def merge(self, other: PracticeSettings) -> PracticeSettings:
        return max(self, other, key=lambda s: (s.changed_at, str(s.event_id)))

    def row(self) -> dict[str, Any]:
        return {
            "practice_id": self.practice_id,
            "changed_at": self.changed_at,
            "event_id": self.event_id,
            "timezone": self.timezone,
            "sla_minutes": self.sla_minutes,
            "sla_by_reason": dict(sorted(self.sla_by_reason.items())),
        }

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> PracticeSettings:
        return cls(
            practice_id=r["practice_id"],
            changed_at=r["changed_at"],
            event_id=r["event_id"],
            timezone=r["timezone"],
            sla_minutes=r["sla_minutes"],
            sla_by_reason=dict(r["sla_by_reason"] or {}),
        )


@dataclass
class ReportFold:
    """One batch's contribution: facts per conversation, inbound messages, practice
    settings. `merge_into` combines it with what is stored."""

    facts: dict[uuid.UUID, Facts] = field(default_factory=dict)
    # message_id -> (practice, conversation, received_at, channel): inbound volume and age
    messages: dict[uuid.UUID, tuple[str, uuid.UUID, datetime, str]] = field(default_factory=dict)
    practices: dict[str, PracticeSettings] = field(default_factory=dict)

    def _add(self, f: Facts) -> None:
        held = self.facts.get(f.conversation_id)
        if held is None:
            self.facts[f.conversation_id] = f
        elif held.practice_id == f.practice_id:  # never across practices (T-1)
            self.facts[f.conversation_id] = held.merge(f)

    def apply(self, events: Iterable[Event]) -> None:
        for e in events:
            facts = facts_of(e)
            if facts is not None:
                self._add(facts)
            if isinstance(e, MessageReceived):
                self.messages[e.message_id] = (
                    e.practice_id,
                    e.conversation_id,
                    e.received_at,
                    str(e.channel),
                )
            elif isinstance(e, PracticeNotificationSettingsChanged):
                s = PracticeSettings(
                    practice_id=e.practice_id,
                    changed_at=e.occurred_at,
                    event_id=e.event_id,
                    timezone=e.timezone,
                    sla_minutes=e.sla_minutes,
                    sla_by_reason={t.reason: t.minutes for t in e.sla_by_reason},
                )
                held = self.practices.get(e.practice_id)
                self.practices[e.practice_id] = held.merge(s) if held else s

    def merge_into(
        self, stored: dict[uuid.UUID, Facts], settings: dict[str, PracticeSettings]
    ) -> tuple[list[Facts], list[PracticeSettings]]:
        """The rows to write: this batch's facts and settings joined with the stored ones."""
        out: list[Facts] = []
        for cid in sorted(self.facts):
            f = self.facts[cid]
            held = stored.get(cid)
            if held is not None and held.practice_id != f.practice_id:
                continue  # T-1
            out.append(held.merge(f) if held else f)
        practices = [
            settings[p].merge(s) if p in settings else s for p, s in sorted(self.practices.items())
        ]
        return out, practices


def facts_of(e: Event) -> Facts | None:
    """What one event says about its conversation, if anything."""
    if isinstance(e, MessageReceived):
        return Facts(
            e.conversation_id,
            e.practice_id,
            opened_at=e.received_at,
            channel=str(e.channel),
            last_inbound_at=e.received_at,
            # any patient message opens the conversation (I-STATUS-1)
            status=(e.received_at, 1, "open", ""),
        )
    if isinstance(e, MessageRouted):
        return Facts(
            e.conversation_id, e.practice_id, routed=(e.decided_at, e.reason, e.location_id or "")
        )
    if isinstance(e, ReplySent):
        if e.actor == SYSTEM:
            return None
        return Facts(
            e.conversation_id,
            e.practice_id,
            first_response=(e.sent_at, e.actor),
            last_response_at=e.sent_at,
        )
    if isinstance(e, ConversationStatusChanged):
        rank = 1 if e.status == "open" else 0
        return Facts(
            e.conversation_id, e.practice_id, status=(e.occurred_at, rank, e.status, e.actor)
        )
    if isinstance(e, ConversationEscalated):
        return Facts(e.conversation_id, e.practice_id, escalation_started_at=e.started_at)
    return None
