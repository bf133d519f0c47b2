"""The inbox fold: pure functions from events to read-model rows. No I/O.

`Fold` holds the state one batch touches (loaded by handlers.py), applies the batch's events
in order, and collects what to write. Every change is stamped with the event's own time, never
a clock, so a rebuild from the log gives the rows the live projection wrote (X-REPLAY-1).

Inbox membership (`boxes`) is a function of a conversation and its patients' care teams; the
fold records every change of it as an interval, which answers "what was in this inbox at T"
(X-ASOF-1).

Team work (I-NOTE-1, I-SNOOZE-1): a note is a row of `messages` with direction `note` (never
counted as a message, never moving the list order) and adds its mentions to `mentioned`,
which files the conversation in each one's `mentioned:<u>` box (their Mentions view). A
snooze sets status `snoozed` (out of every open list) until a ConversationWoke that names it,
a patient's message, or a status change by hand.

Its size: one fold over every event type the inbox reads, sharing the conversation state
and the membership intervals; split by event, each part would need all of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any

from switchboard.events import (
    CareTeamUpserted,
    ConversationAssigned,
    ConversationLinked,
    ConversationRead,
    ConversationSnoozed,
    ConversationStatusChanged,
    ConversationWoke,
    Event,
    LocationUpserted,
    MessageReceived,
    MessageRouted,
    NoteAdded,
    PatientUpserted,
    PracticeMessageRead,
    ReplyDeliveryUpdated,
    ReplyFailed,
    ReplyRequested,
    ReplySent,
    RoutingProposalApplied,
    StaffAccessSet,
    StaffAddressesSet,
    StaffSubscriptionsSet,
    Topic,
    deterministic_id,
)
from switchboard.events.actions import ConversationAction
from switchboard.inbox_projection.reason_source import public_reason_source
from switchboard.rules import boxes as bx
from switchboard.rules.contacts import replaces

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SYSTEM = "system"

# The topics the projection reads, live (app.py) and in a rebuild (rebuild.py).
TOPICS = [Topic.MESSAGES, Topic.ROUTING, Topic.ACTIONS, Topic.DELIVERY, Topic.PM, Topic.CONFIG]

# Events this projection applies (anything else on its topics is skipped).
HANDLED = (
    MessageReceived,
    MessageRouted,
    ConversationAction,
    ReplySent,
    ReplyFailed,
    ReplyDeliveryUpdated,
    PatientUpserted,
    CareTeamUpserted,
    LocationUpserted,
    StaffSubscriptionsSet,
    StaffAddressesSet,
    StaffAccessSet,
    RoutingProposalApplied,
)


@dataclass
class Conversation:
    conversation_id: uuid.UUID
    practice_id: str
    channel: str = "unknown"
    line: str = ""
    sender: str = ""
    patient_id: str | None = None
    linked_by: str | None = None
    matched_patient_ids: list[str] = field(default_factory=list)
    status: str = "open"
    status_at: datetime | None = None
    assignee: str | None = None
    assigned_at: datetime | None = None
    reason: str | None = None
    # Why it carries that reason, in the API's words (R-REASON-4: picked, cleared_by_sms...).
    reason_source: str | None = None
    location_id: str | None = None
    # How the router found the location (next_appointment, profile, unknown; R-LOC-4).
    location_source: str | None = None
    provider_id: str | None = None
    inboxes: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    explanation: list[dict[str, Any]] | None = None
    routed_at: datetime | None = None
    message_count: int = 0
    last_message_at: datetime | None = None
    last_inbound_at: datetime | None = None
    sent_by: list[str] = field(default_factory=list)
    version: int = 0
    # The time of the last membership change: later ones are stamped no earlier (_changed).
    changed_at: datetime | None = None
    # Staff @mentioned in its notes (I-NOTE-1): each has it in their Mentions view.
    mentioned: list[str] = field(default_factory=list)
    # While status is "snoozed" (I-SNOOZE-1): until when (None: until the patient writes),
    # and the ConversationSnoozed event a wake-up must name.
    snoozed_until: datetime | None = None
    snooze_id: uuid.UUID | None = None

    @property
    def sort_at(self) -> datetime:
        return self.last_message_at or self.routed_at or EPOCH

    def row(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Conversation:
        names = {f.name for f in fields(cls)}
        data = {k: v for k, v in row.items() if k in names}
        for k in ("matched_patient_ids", "inboxes", "recipients", "sent_by", "mentioned"):
            data[k] = list(data.get(k) or [])
        return cls(**data)

    def wake(self, at: datetime) -> None:
        """Open again, the snooze forgotten (I-SNOOZE-1)."""
        self.status, self.status_at = "open", at
        self.snoozed_until = self.snooze_id = None


@dataclass
class Patient:
    practice_id: str
    patient_id: str
    given_name: str = ""
    family_name: str = ""
    birth_date: date | None = None
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    preferred_language: str | None = None
    timezone: str | None = None
    own_care_team: list[str] = field(default_factory=list)
    own_primary_contact: str | None = None
    care_team: list[str] = field(default_factory=list)
    primary_contact: str | None = None
    source_updated_at: datetime | None = None

    def row(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Patient:
        names = {f.name for f in fields(cls)}
        data = {k: v for k, v in row.items() if k in names}
        for k in ("phones", "emails", "own_care_team", "care_team"):
            data[k] = list(data.get(k) or [])
        return cls(**data)


@dataclass
class CareTeam:
    practice_id: str
    care_team_id: str
    patient_id: str
    members: list[str]
    primary_contact: str | None
    active: bool
    source_updated_at: datetime

    def row(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def boxes(c: Conversation, patients: dict[tuple[str, str], Patient]) -> frozenset[str]:
    """The view boxes a conversation is in (I-VIEW-1..4). See storage.membership.
    A conversation lands in inboxes once routed (the router's decision puts it there)."""
    if c.routed_at is None:
        return frozenset()
    out: set[str] = set()
    if c.assignee:
        out.add(bx.staff_box(bx.ASSIGNED, c.assignee))
    out.update(bx.staff_box(bx.ROUTED, r) for r in c.recipients)
    out.update(bx.staff_box(bx.SENT, s) for s in c.sent_by)
    out.update(bx.inbox_box(i) for i in c.inboxes)
    out.update(bx.staff_box(bx.MENTIONED, m) for m in c.mentioned)
    if c.patient_id is not None:
        p = patients.get((c.practice_id, c.patient_id))
        team = set(p.care_team) if p else set()
        if p and p.primary_contact:
            out.add(bx.staff_box(bx.PRIMARY, p.primary_contact))
        out.update(bx.staff_box(bx.CARE_TEAM, m) for m in team)
        out.add(bx.ALL)
        # My Inbox / Unrecognized: assigned to me, no matching patient on my care team.
        if c.assignee and c.assignee not in team:
            out.add(bx.staff_box(bx.UNRECOGNIZED, c.assignee))
    else:
        out.add(bx.ALL_UNRECOGNIZED)
        if c.assignee:
            out.add(bx.staff_box(bx.UNRECOGNIZED, c.assignee))
        # Care Team / Unrecognized: the sender matches several patients, some on my team.
        for pid in c.matched_patient_ids:
            p = patients.get((c.practice_id, pid))
            if p:
                out.update(bx.staff_box(bx.CARE_TEAM_UNRECOGNIZED, m) for m in p.care_team)
    return frozenset(out)


def membership_rows(c: Conversation, bx: Iterable[str]) -> list[tuple[Any, ...]]:
    """Rows of storage.membership, as tuples in its column order (written with COPY)."""
    p, cid, at, status = c.practice_id, c.conversation_id, c.sort_at, c.status
    assigned, channel, reason, loc = c.assignee is not None, c.channel, c.reason, c.location_id
    return [(p, b, cid, at, status, assigned, channel, reason, loc) for b in sorted(bx)]


def earliest_copies(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One message row per message id: the copy with the earliest `sent_at` (X-REPLAY-1).

    A message can reach the log twice under one id (a webhook or page retry whose first
    attempt was published but not answered 2xx). Which copy a consumer meets first depends on
    how it reads the log, so the row keeps the earliest time, whatever the order: the live
    path upserts with it (handlers.write_batch), a rebuild corrects the rows it wrote first
    (bulk.BulkKeys)."""
    kept: dict[Any, dict[str, Any]] = {}
    for row in rows:
        have = kept.get(row["message_id"])
        if have is None or row["sent_at"] < have["sent_at"]:
            kept[row["message_id"]] = row
    return list(kept.values())


def _later(at: datetime, than: datetime | None) -> bool:
    return than is None or at >= than


def _max(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


@dataclass
class Fold:
    """One batch's state and output. Load the state, `apply` the events, write the output."""

    conversations: dict[uuid.UUID, Conversation] = field(default_factory=dict)
    patients: dict[tuple[str, str], Patient] = field(default_factory=dict)
    care_teams: dict[tuple[str, str], CareTeam] = field(default_factory=dict)
    # (practice, address) -> staff id, for every practice the batch has messages of.
    addresses: dict[tuple[str, str], str] = field(default_factory=dict)
    # (practice, staff) -> shared inboxes subscribed now.
    subscriptions: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    # outcomes already recorded in this generation (for causation checks)
    outcomes: dict[uuid.UUID, str] = field(default_factory=dict)
    emit: bool = True

    # output
    dirty: set[uuid.UUID] = field(default_factory=set)
    dirty_patients: set[tuple[str, str]] = field(default_factory=set)
    dirty_care_teams: set[tuple[str, str]] = field(default_factory=set)
    dirty_address_staff: set[tuple[str, str]] = field(default_factory=set)
    messages: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    reads: dict[tuple[uuid.UUID, str], dict[str, Any]] = field(default_factory=dict)
    locations: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    applied: list[dict[str, Any]] = field(default_factory=list)
    history_open: list[dict[str, Any]] = field(default_factory=list)
    history_close: list[dict[str, Any]] = field(default_factory=list)
    subs_open: list[dict[str, Any]] = field(default_factory=list)
    subs_close: list[dict[str, Any]] = field(default_factory=list)
    # staff access intervals (X-ASOF-1a): opened by this batch; closed (earlier batches')
    access_open: list[dict[str, Any]] = field(default_factory=list)
    access_close: list[dict[str, Any]] = field(default_factory=list)
    out: list[Event] = field(default_factory=list)
    # boxes as stored before this batch, and as they are now
    stored_boxes: dict[uuid.UUID, frozenset[str]] = field(default_factory=dict)
    now_boxes: dict[uuid.UUID, frozenset[str]] = field(default_factory=dict)
    _open_in_batch: dict[tuple[uuid.UUID, str], dict[str, Any]] = field(default_factory=dict)
    _closed_in_batch: dict[tuple[uuid.UUID, str], dict[str, Any]] = field(default_factory=dict)
    # (practice, patient) -> conversations of that patient or naming it as a candidate
    _by_patient: dict[tuple[str, str], set[uuid.UUID]] = field(default_factory=dict)
    _keys_of: dict[uuid.UUID, frozenset[tuple[str, str]]] = field(default_factory=dict)
    _subs_open_in_batch: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    _access_open_in_batch: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def next_batch(self) -> Fold:
        """A fold for the next batch that shares this one's state (conversations, patients,
        care teams, addresses, subscriptions, outcomes, boxes) but not its output."""
        return Fold(
            conversations=self.conversations,
            patients=self.patients,
            care_teams=self.care_teams,
            addresses=self.addresses,
            subscriptions=self.subscriptions,
            outcomes=self.outcomes,
            emit=self.emit,
            stored_boxes=self.now_boxes,
            now_boxes=self.now_boxes,
            _by_patient=self._by_patient,
            _keys_of=self._keys_of,
        )

    def _index(self, c: Conversation) -> None:
        pids = [c.patient_id] if c.patient_id else []
        keys = frozenset((c.practice_id, p) for p in [*pids, *c.matched_patient_ids])
        old = self._keys_of.get(c.conversation_id, frozenset())
        if keys == old:
            return
        for k in old - keys:
            self._by_patient.get(k, set()).discard(c.conversation_id)
        for k in keys - old:
            self._by_patient.setdefault(k, set()).add(c.conversation_id)
        self._keys_of[c.conversation_id] = keys

    def loaded(self) -> None:
        """Call once the state is loaded: remembers the boxes stored before the batch."""
        for cid, c in self.conversations.items():
            self.stored_boxes[cid] = self.now_boxes[cid] = boxes(c, self.patients)
            self._index(c)

    # --- helpers --------------------------------------------------------------------
    def _conversation(self, practice_id: str, cid: uuid.UUID) -> Conversation:
        c = self.conversations.get(cid)
        if c is None:
            c = self.conversations[cid] = Conversation(cid, practice_id)
            self.stored_boxes[cid] = self.now_boxes[cid] = frozenset()
        elif c.practice_id != practice_id:
            raise ValueError("event names a conversation of another practice (T-1)")
        return c

    def _changed(self, c: Conversation, at: datetime) -> None:
        """Record a change of `c` at event time `at`: membership intervals follow.

        Stamps never go back before the conversation's last membership change
        (`changed_at`), so no interval closes before it opened, and an interval that would
        be empty is not kept. Only a change of boxes moves that clock: a message and its
        routing decision travel on two topics, and a later message folded before the
        decision must not push the decision's intervals to its own time (the fault harness
        saw a rebuild differ from live that way), so either order gives the same history
        (X-REPLAY-1)."""
        cid = c.conversation_id
        self.dirty.add(cid)
        self._index(c)
        before = self.now_boxes.get(cid, frozenset())
        after = boxes(c, self.patients)
        if after == before:
            return
        stamp = _max(c.changed_at, at)
        c.changed_at = stamp
        for b in sorted(before - after):
            opened = self._open_in_batch.pop((cid, b), None)
            if opened is not None and opened["valid_from"] == stamp:
                self.history_open.remove(opened)  # empty: never there
            elif opened is not None:
                opened["valid_to"] = stamp
            else:
                closing: dict[str, Any] = {"c": cid, "b": b, "t": stamp}
                self._closed_in_batch[(cid, b)] = closing
                self.history_close.append(closing)
        for b in sorted(after - before):
            close = self._closed_in_batch.pop((cid, b), None)
            if close is not None and close["t"] == stamp:
                self.history_close.remove(close)  # closed and opened at once: still there
                continue
            row = {
                "practice_id": c.practice_id,
                "box": b,
                "conversation_id": cid,
                "valid_from": stamp,
                "valid_to": None,
            }
            self.history_open.append(row)
            self._open_in_batch[(cid, b)] = row
        self.now_boxes[cid] = after

    def _record(self, e: Event, outcome: str, c: Conversation | None = None) -> None:
        self.outcomes[e.event_id] = outcome
        self.applied.append(
            {
                "event_id": e.event_id,
                "outcome": outcome,
                "conversation_id": c.conversation_id if c else None,
            }
        )

    def _refuse(self, e: ConversationAction, c: Conversation | None) -> str | None:
        """Why an action is not applied: unknown conversation, stale version, or a cause
        that was itself refused ("Send and Close" after a refused reply)."""
        if c is None:
            return "missing"
        if e.expected_version is not None and e.expected_version != c.version:
            return "conflict"
        if e.causation_id is not None and self.outcomes.get(e.causation_id, "applied") not in (
            "applied",
        ):
            return "conflict"
        return None

    # --- apply ----------------------------------------------------------------------
    def apply(self, events: Iterable[Event]) -> None:
        for e in events:
            if isinstance(e, MessageReceived):
                self._received(e)
            elif isinstance(e, MessageRouted):
                self._routed(e)
            elif isinstance(e, ConversationRead):
                self._read(e)
            elif isinstance(e, PracticeMessageRead):
                self.deliveries.append(
                    {
                        "message_id": e.message_id,
                        "kind": "read",
                        "practice_id": e.practice_id,
                        "conversation_id": e.conversation_id,
                        "at": e.read_at,
                        "why": None,
                    }
                )
                self._record(e, "applied")
            elif isinstance(e, ConversationAction):
                self._action(e)
            elif isinstance(e, ReplySent | ReplyFailed):
                self._delivery(e)
            elif isinstance(e, ReplyDeliveryUpdated):
                self._delivery_update(e)
            elif isinstance(e, PatientUpserted):
                self._patient(e)
            elif isinstance(e, CareTeamUpserted):
                self._care_team(e)
            elif isinstance(e, LocationUpserted):
                self.locations[(e.practice_id, e.location_id)] = {
                    "practice_id": e.practice_id,
                    "location_id": e.location_id,
                    "name": e.name,
                    "active": e.active,
                }
            elif isinstance(e, StaffSubscriptionsSet):
                self._subscriptions(e.practice_id, e.staff_id, e.inboxes, e.occurred_at)
                self._record(e, "applied")
            elif isinstance(e, RoutingProposalApplied):  # X-WHATIF-1c: many people at once
                for sub in e.subscriptions:
                    self._subscriptions(e.practice_id, sub.staff_id, sub.inboxes, e.occurred_at)
                self._record(e, "applied")
            elif isinstance(e, StaffAddressesSet):
                self._addresses(e)
            elif isinstance(e, StaffAccessSet):
                self._access(e)

    def _received(self, e: MessageReceived) -> None:
        c = self._conversation(e.practice_id, e.conversation_id)
        c.channel, c.line, c.sender = e.channel, e.recipient, e.sender
        if e.patient_id and c.linked_by is None and c.patient_id is None:
            c.patient_id, c.matched_patient_ids = e.patient_id, []
        c.message_count += 1
        c.last_message_at = _max(c.last_message_at, e.received_at)
        c.last_inbound_at = _max(c.last_inbound_at, e.received_at)
        if _later(e.received_at, c.status_at):  # any inbound message opens it (I-STATUS-1)
            c.wake(e.received_at)  # and ends a snooze (I-SNOOZE-1)
        owner = self.addresses.get((e.practice_id, e.recipient.lower()))
        if owner and c.assignee is None:  # written to a person's own address (I-ASSIGN-1)
            c.assignee, c.assigned_at = owner, e.received_at
            if self.emit:
                self.out.append(
                    ConversationAssigned.derive(
                        e,
                        event_id=deterministic_id(e.practice_id, "auto-assign", e.message_id),
                        occurred_at=e.received_at,
                        conversation_id=e.conversation_id,
                        actor=SYSTEM,
                        assignee=owner,
                    )
                )
        c.version += 1
        self.messages.append(
            {
                "message_id": e.message_id,
                "practice_id": e.practice_id,
                "conversation_id": e.conversation_id,
                "direction": "inbound",
                "channel": e.channel,
                "sender": e.sender,
                "recipient": e.recipient,
                "subject": e.subject,
                "body": e.body,
                "attachments": [a.model_dump(mode="json") for a in e.attachments],
                "sent_at": e.received_at,
                "actor": None,
                "details": None,
            }
        )
        self._changed(c, e.received_at)
        self._record(e, "applied", c)

    def _routed(self, e: MessageRouted) -> None:
        source = public_reason_source(e.reason_source, e.explanation)
        self.decisions.append(
            {
                "event_id": e.event_id,
                "practice_id": e.practice_id,
                "conversation_id": e.conversation_id,
                "message_id": e.message_id,
                "trigger": e.trigger,
                "reason": e.reason,
                "reason_source": source,
                "location_id": e.location_id,
                "location_source": e.location_source,
                "provider_id": e.provider_id,
                "recipients": list(e.recipients),
                "inboxes": list(e.inboxes),
                "decided_at": e.decided_at,
            }
        )
        c = self._conversation(e.practice_id, e.conversation_id)
        # An older decision (a re-route processed late) never overwrites a newer one.
        if _later(e.decided_at, c.routed_at):
            c.reason, c.location_id, c.provider_id = e.reason, e.location_id, e.provider_id
            c.reason_source, c.location_source = source, e.location_source
            c.inboxes, c.recipients = list(e.inboxes), list(e.recipients)
            c.explanation = [r.model_dump(mode="json") for r in e.explanation]
            c.routed_at = e.decided_at
            if c.linked_by is None:
                c.patient_id = e.patient_id or c.patient_id
                c.matched_patient_ids = [] if c.patient_id else sorted(e.matched_patient_ids)
        if e.assignee and _later(e.decided_at, c.assigned_at):  # auto-assignment (X-BALANCE-1)
            c.assignee, c.assigned_at = e.assignee, e.decided_at
        c.version += 1
        self._changed(c, e.decided_at)
        self._record(e, "applied", c)

    def _read(self, e: ConversationRead) -> None:
        key = (e.conversation_id, e.actor)
        prev = self.reads.get(key)
        if prev is None or e.read_at > prev["read_at"]:
            self.reads[key] = {
                "conversation_id": e.conversation_id,
                "user_id": e.actor,
                "practice_id": e.practice_id,
                "read_at": e.read_at,
            }
        self._record(e, "applied")

    def _action(self, e: ConversationAction) -> None:
        c = self.conversations.get(e.conversation_id)
        if c is not None and c.practice_id != e.practice_id:
            c = None  # never across practices (T-1)
        why = self._refuse(e, c)
        # Cannot be answered until linked (I-UNREC-1), unless the gateway allowed a reply to
        # the unrecognized sender itself (X-UNREPLY-1: setting, policy, no placeholders); the
        # router's reason menu goes only to a patient it recognized, before its decision
        # names them here (X-MENU-2).
        unlinked = isinstance(e, ReplyRequested) and not e.unverified_sender
        if why is None and unlinked and e.actor != SYSTEM and c and c.patient_id is None:
            why = "unrecognized"
        if why is not None or c is None:
            self._record(e, why or "missing", c)
            return
        at = e.occurred_at
        if isinstance(e, ConversationAssigned):
            if _later(at, c.assigned_at):
                c.assignee, c.assigned_at = e.assignee, at
        elif isinstance(e, ConversationStatusChanged):
            if _later(at, c.status_at):
                c.wake(at)
                c.status = e.status
        elif isinstance(e, NoteAdded):
            self._note(e, c)
            return
        elif isinstance(e, ConversationSnoozed):
            if _later(at, c.status_at):
                c.status, c.status_at = "snoozed", at
                c.snoozed_until, c.snooze_id = e.until, e.event_id
        elif isinstance(e, ConversationWoke):
            if c.status != "snoozed" or c.snooze_id != e.snooze_id:
                # Already woken (the patient wrote, staff opened it) or snoozed again since.
                self._record(e, "ignored", c)
                return
            c.wake(at)
        elif isinstance(e, ConversationLinked):
            c.patient_id, c.linked_by, c.matched_patient_ids = e.patient_id, e.actor, []
        elif isinstance(e, ReplyRequested):
            at = e.requested_at
            if e.actor not in c.sent_by:
                c.sent_by = sorted([*c.sent_by, e.actor])
            c.message_count += 1
            c.last_message_at = _max(c.last_message_at, at)
            self.messages.append(
                {
                    "message_id": e.message_id,
                    "practice_id": e.practice_id,
                    "conversation_id": e.conversation_id,
                    "direction": "outbound",
                    "channel": e.channel,
                    "sender": e.line,
                    "recipient": e.to,
                    "subject": e.subject,
                    "body": e.body,
                    "attachments": [a.model_dump(mode="json") for a in e.attachments],
                    "sent_at": at,
                    "actor": e.actor,
                    "details": {
                        "secure": e.secure,
                        "keep_open": e.keep_open,
                        "template_id": e.template_id,
                        "retry_of": str(e.retry_of) if e.retry_of else None,
                        "unverified_sender": e.unverified_sender,
                    },
                }
            )
        else:
            self._record(e, "ignored", c)
            return
        c.version += 1
        self._changed(c, at)
        self._record(e, "applied", c)

    def _note(self, e: NoteAdded, c: Conversation) -> None:
        """An internal note (I-NOTE-1): in the thread, not a message (no count, no order)."""
        self.messages.append(
            {
                "message_id": e.note_id,
                "practice_id": e.practice_id,
                "conversation_id": e.conversation_id,
                "direction": "note",
                "channel": c.channel,
                "sender": e.actor,
                "recipient": "",
                "subject": None,
                "body": e.body,
                "attachments": [],
                "sent_at": e.occurred_at,
                "actor": e.actor,
                "details": {"mentions": list(e.mentions)},
            }
        )
        new = [m for m in e.mentions if m not in c.mentioned]
        if new:
            c.mentioned = sorted({*c.mentioned, *new})
        self._changed(c, e.occurred_at)
        self._record(e, "applied", c)

    def _delivery(self, e: ReplySent | ReplyFailed) -> None:
        sent = isinstance(e, ReplySent)
        self.deliveries.append(
            {
                "message_id": e.message_id,
                "kind": "sent" if sent else "failed",
                "practice_id": e.practice_id,
                "conversation_id": e.conversation_id,
                "at": e.sent_at if isinstance(e, ReplySent) else e.failed_at,
                "why": None if isinstance(e, ReplySent) else e.why,
            }
        )
        c = self.conversations.get(e.conversation_id)
        mine = sent and c and c.practice_id == e.practice_id and e.actor != SYSTEM
        if c and mine and e.actor not in c.sent_by:
            c.sent_by = sorted([*c.sent_by, e.actor])
            self._changed(c, e.occurred_at)
        self._record(e, "applied", c)

    def _delivery_update(self, e: ReplyDeliveryUpdated) -> None:
        """What the carrier said later (I-DELIV-3): one row per status, kept whatever order
        the callbacks arrive in; the newest by its own time is what staff see. The carrier's
        "failed" is kept as "undelivered": the ReplyFailed that comes with it owns "failed"."""
        kind = "undelivered" if e.status == "failed" else e.status
        self.deliveries.append(
            {
                "message_id": e.message_id,
                "kind": kind,
                "practice_id": e.practice_id,
                "conversation_id": e.conversation_id,
                "at": e.updated_at,
                "why": e.why,
            }
        )
        self._record(e, "applied", self.conversations.get(e.conversation_id))

    def _affected(self, practice_id: str, patient_id: str) -> list[Conversation]:
        cids = self._by_patient.get((practice_id, patient_id), set())
        return [self.conversations[cid] for cid in sorted(cids)]

    def _effective(self, p: Patient) -> None:
        teams = sorted(
            (
                t
                for t in self.care_teams.values()
                if t.practice_id == p.practice_id and t.patient_id == p.patient_id and t.active
            ),
            key=lambda t: (t.source_updated_at, t.care_team_id),
        )
        members = set(p.own_care_team)
        primary = p.own_primary_contact
        for t in teams:
            members.update(t.members)
            if t.primary_contact:
                primary = t.primary_contact
        p.care_team, p.primary_contact = sorted(members), primary

    def _patient_changed(self, practice_id: str, patient_id: str, at: datetime) -> None:
        p = self.patients[(practice_id, patient_id)]
        self._effective(p)
        self.dirty_patients.add((practice_id, patient_id))
        for c in self._affected(practice_id, patient_id):
            self._changed(c, at)

    def _patient(self, e: PatientUpserted) -> None:
        key = (e.practice_id, e.patient_id)
        p = self.patients.get(key)
        if p is None:
            p = self.patients[key] = Patient(e.practice_id, e.patient_id)
        elif not replaces(p.source_updated_at, e.source_updated_at):
            self._record(e, "stale")
            return
        p.given_name, p.family_name, p.birth_date = e.given_name, e.family_name, e.birth_date
        p.phones, p.emails = list(e.phones), [m.lower() for m in e.emails]
        p.preferred_language = e.preferred_language
        p.timezone = e.timezone or p.timezone
        p.own_care_team, p.own_primary_contact = list(e.care_team), e.primary_contact
        p.source_updated_at = e.source_updated_at
        self._patient_changed(e.practice_id, e.patient_id, e.occurred_at)
        self._record(e, "applied")

    def _care_team(self, e: CareTeamUpserted) -> None:
        key = (e.practice_id, e.care_team_id)
        t = self.care_teams.get(key)
        if t is not None and e.source_updated_at < t.source_updated_at:
            self._record(e, "stale")
            return
        self.care_teams[key] = CareTeam(
            e.practice_id,
            e.care_team_id,
            e.patient_id,
            sorted(e.members),
            e.primary_contact,
            e.active,
            e.source_updated_at,
        )
        self.dirty_care_teams.add(key)
        pkey = (e.practice_id, e.patient_id)
        if pkey not in self.patients:
            self.patients[pkey] = Patient(e.practice_id, e.patient_id)
        self._patient_changed(e.practice_id, e.patient_id, e.occurred_at)
        self._record(e, "applied")

    def _subscriptions(
        self, practice_id: str, staff_id: str, inboxes: Iterable[str], at: datetime
    ) -> None:
        key = (practice_id, staff_id)
        before = self.subscriptions.get(key, set())
        after = set(inboxes)
        for inbox in sorted(after - before):
            row = {
                "practice_id": practice_id,
                "staff_id": staff_id,
                "inbox": inbox,
                "valid_from": at,
                "valid_to": None,
            }
            self.subs_open.append(row)
            self._subs_open_in_batch[(practice_id, staff_id, inbox)] = row
        for inbox in sorted(before - after):
            opened = self._subs_open_in_batch.pop((practice_id, staff_id, inbox), None)
            if opened is not None:
                opened["valid_to"] = at
            else:
                self.subs_close.append({"p": practice_id, "s": staff_id, "i": inbox, "t": at})
        self.subscriptions[key] = after

    def _addresses(self, e: StaffAddressesSet) -> None:
        for k in [
            k for k, v in self.addresses.items() if k[0] == e.practice_id and v == e.staff_id
        ]:
            del self.addresses[k]
        for a in e.addresses:
            self.addresses[(e.practice_id, a.strip().lower())] = e.staff_id
        self.dirty_address_staff.add((e.practice_id, e.staff_id))
        self._record(e, "applied")

    def _access(self, e: StaffAccessSet) -> None:
        """A staff member's access from e.occurred_at on: closes the interval before it
        (X-ASOF-1a). Needs no loaded state: an earlier batch's open interval is closed by
        the write (`valid_to IS NULL`), this batch's here."""
        key = (e.practice_id, e.staff_id)
        opened = self._access_open_in_batch.get(key)
        if opened is not None:
            opened["valid_to"] = e.occurred_at
        else:
            self.access_close.append({"p": e.practice_id, "s": e.staff_id, "t": e.occurred_at})
        row = {
            "practice_id": e.practice_id,
            "staff_id": e.staff_id,
            "role": e.role,
            "policies": sorted(e.policies),
            "event_id": e.event_id,
            "valid_from": e.occurred_at,
            "valid_to": None,
        }
        self.access_open.append(row)
        self._access_open_in_batch[key] = row
        self._record(e, "applied")
