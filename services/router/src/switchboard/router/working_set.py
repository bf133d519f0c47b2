"""The part of the router's state one batch touches: loaded in a few queries, changed in
memory while the batch's events are applied in order, written back in a few statements.

Rows a batch may change are read `FOR UPDATE` (in key order, so two replicas cannot
deadlock on each other's batches), so concurrent replicas serialise on the same conversation
or patient rather than overwrite each other.

Its size: loading and writing back each table the batch touches belong together (the same
rows, locked in the same order).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.platform.db import RawJSON, write_rows
from switchboard.router import storage
from switchboard.router.model import ConversationState, NextAppointment
from switchboard.router.practice_config import PracticeConfig
from switchboard.rules import appointments
from switchboard.rules.contacts import contact_key, contact_keys


@dataclass
class PatientRow:
    patient_id: str
    profile_location_id: str | None = None
    profile_provider_id: str | None = None
    contacts: tuple[str, ...] = ()
    source_updated_at: datetime | None = None


@dataclass
class AppointmentRow:
    patient_id: str
    appointment: NextAppointment
    active: bool
    source_updated_at: datetime

    def version_key(self) -> appointments.VersionKey:
        a = self.appointment
        return appointments.version_key(
            a.version, self.source_updated_at, self.active, a.event_id or ""
        )


@dataclass
class Decided:
    """A decision to store: the event, plus the state it met (for what-if replays)."""

    event_id: uuid.UUID
    practice_id: str
    conversation_id: uuid.UUID
    message_id: uuid.UUID | None
    decided_at: datetime
    decision: RawJSON
    inputs: dict[str, Any] | None


PatientKey = tuple[str, str]


@dataclass
class WorkingSet:
    configs: dict[str, PracticeConfig] = field(default_factory=dict)
    conversations: dict[uuid.UUID, ConversationState] = field(default_factory=dict)
    conversation_practice: dict[uuid.UUID, str] = field(default_factory=dict)
    patients: dict[PatientKey, PatientRow] = field(default_factory=dict)
    contacts: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    appointments: dict[tuple[str, str], AppointmentRow] = field(default_factory=dict)
    # (practice, patient) -> the appointment keys of that patient, for per-message lookups.
    patient_appointments: dict[PatientKey, set[tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(set)
    )
    rr_cursor: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    open_work: dict[str, dict[str, int]] = field(default_factory=dict)

    dirty_configs: set[str] = field(default_factory=set)
    dirty_conversations: set[uuid.UUID] = field(default_factory=set)
    dirty_patients: set[PatientKey] = field(default_factory=set)
    # (practice, contact, patient) rows to add and to remove: exact diffs, so a contact
    # whose other owners were never loaded keeps them.
    contact_adds: set[tuple[str, str, str]] = field(default_factory=set)
    contact_removes: set[tuple[str, str, str]] = field(default_factory=set)
    dirty_appointments: set[tuple[str, str]] = field(default_factory=set)
    dirty_cursors: set[tuple[str, str]] = field(default_factory=set)
    directory: dict[tuple[str, str, str], tuple[str, bool]] = field(default_factory=dict)
    decided: list[Decided] = field(default_factory=list)

    # --- reads -------------------------------------------------------------------------

    def config(self, practice_id: str) -> PracticeConfig:
        if practice_id not in self.configs:
            self.configs[practice_id] = PracticeConfig.initial(practice_id)
        return self.configs[practice_id]

    def patient(self, practice_id: str, patient_id: str) -> PatientRow:
        key = (practice_id, patient_id)
        if key not in self.patients:
            self.patients[key] = PatientRow(patient_id)
        return self.patients[key]

    def active_appointments(self, practice_id: str, patient_id: str) -> list[NextAppointment]:
        rows = (
            self.appointments[k]
            for k in self.patient_appointments.get((practice_id, patient_id), ())
        )
        return [row.appointment for row in rows if row.active]

    def put_appointment(self, practice_id: str, appointment_id: str, row: AppointmentRow) -> None:
        key = (practice_id, appointment_id)
        previous = self.appointments.get(key)
        if previous is not None and previous.patient_id != row.patient_id:
            self.patient_appointments[(practice_id, previous.patient_id)].discard(key)
        self.appointments[key] = row
        self.patient_appointments[(practice_id, row.patient_id)].add(key)

    def open_conversations_of(self, practice_id: str, patient_id: str) -> list[ConversationState]:
        return [
            c
            for cid, c in self.conversations.items()
            if self.conversation_practice.get(cid) == practice_id
            and c.patient_id == patient_id
            and c.status == "open"
        ]

    def patients_by_contact(self, practice_id: str, contact: str) -> set[str]:
        return self.contacts.get((practice_id, contact_key(contact)), set())

    # --- writes ------------------------------------------------------------------------

    def put_conversation(self, practice_id: str, conversation: ConversationState) -> None:
        self.conversations[conversation.conversation_id] = conversation
        self.conversation_practice[conversation.conversation_id] = practice_id
        self.dirty_conversations.add(conversation.conversation_id)

    def set_contacts(self, practice_id: str, patient_id: str, contacts: Iterable[str]) -> None:
        row = self.patient(practice_id, patient_id)
        new = contact_keys(contacts)
        for contact in set(new) - set(row.contacts):
            self.contacts.setdefault((practice_id, contact), set()).add(patient_id)
            self.contact_adds.add((practice_id, contact, patient_id))
            self.contact_removes.discard((practice_id, contact, patient_id))
        for contact in set(row.contacts) - set(new):
            self.contacts.setdefault((practice_id, contact), set()).discard(patient_id)
            self.contact_removes.add((practice_id, contact, patient_id))
            self.contact_adds.discard((practice_id, contact, patient_id))
        row.contacts = new
        self.dirty_patients.add((practice_id, patient_id))


async def load(
    session: AsyncSession,
    *,
    practices: set[str],
    conversation_ids: set[uuid.UUID],
    contacts: set[tuple[str, str]],
    patients: set[PatientKey],
    appointment_ids: set[tuple[str, str]],
    reroute_patients: set[PatientKey],
) -> WorkingSet:
    """Everything the batch needs, in at most seven queries."""
    ws = WorkingSet()
    if practices:
        rows = await session.execute(
            select(storage.practice_config.c.practice_id, storage.practice_config.c.config)
            .where(storage.practice_config.c.practice_id.in_(sorted(practices)))
            .order_by(storage.practice_config.c.practice_id)
        )
        for practice_id, config in rows:
            ws.configs[practice_id] = PracticeConfig.from_json(config)
        cursors = await session.execute(
            select(storage.rr_cursor).where(storage.rr_cursor.c.practice_id.in_(sorted(practices)))
        )
        for practice_id, inbox, staff in cursors.tuples():
            ws.rr_cursor[practice_id][inbox] = staff

    if contacts:
        keys = sorted({(p, contact_key(c)) for p, c in contacts})
        owners = await session.execute(
            select(storage.patient_contacts).where(
                tuple_(
                    storage.patient_contacts.c.practice_id, storage.patient_contacts.c.contact
                ).in_(keys)
            )
        )
        for key in keys:
            ws.contacts[key] = set()
        for practice_id, contact, patient_id in owners.tuples():
            ws.contacts[(practice_id, contact)].add(patient_id)
            patients.add((practice_id, patient_id))

    c = storage.conversations
    conversation_filter: list[ColumnElement[bool]] = []
    if conversation_ids:
        conversation_filter.append(c.c.conversation_id.in_(sorted(conversation_ids)))
    if reroute_patients:
        conversation_filter.append(
            tuple_(c.c.practice_id, c.c.patient_id).in_(sorted(reroute_patients))
            & (c.c.status == "open")
        )
    if conversation_filter:
        rows = await session.execute(
            select(c)
            .where(or_(*conversation_filter))
            .order_by(c.c.conversation_id)
            .with_for_update()
        )
        for row in rows.mappings():
            ws.conversation_practice[row["conversation_id"]] = row["practice_id"]
            ws.conversations[row["conversation_id"]] = _conversation(row)
            if row["patient_id"]:
                patients.add((row["practice_id"], row["patient_id"]))

    patients |= reroute_patients
    if patients:
        p = storage.patients
        rows = await session.execute(
            select(p)
            .where(tuple_(p.c.practice_id, p.c.patient_id).in_(sorted(patients)))
            .order_by(p.c.practice_id, p.c.patient_id)
            .with_for_update()
        )
        for row in rows.mappings():
            ws.patients[(row["practice_id"], row["patient_id"])] = PatientRow(
                row["patient_id"],
                row["profile_location_id"],
                row["profile_provider_id"],
                tuple(row["contacts"]),
                row["source_updated_at"],
            )

    a = storage.appointments
    appointment_filter: list[ColumnElement[bool]] = []
    if patients:
        appointment_filter.append(
            tuple_(a.c.practice_id, a.c.patient_id).in_(sorted(patients)) & a.c.active
        )
    if appointment_ids:
        appointment_filter.append(
            tuple_(a.c.practice_id, a.c.appointment_id).in_(sorted(appointment_ids))
        )
    if appointment_filter:
        rows = await session.execute(select(a).where(or_(*appointment_filter)))
        for row in rows.mappings():
            ws.put_appointment(
                row["practice_id"],
                row["appointment_id"],
                AppointmentRow(
                    row["patient_id"],
                    NextAppointment(
                        appointment_id=row["appointment_id"],
                        start=row["start"],
                        version=row["source_version"],
                        location_id=row["location_id"],
                        provider_id=row["provider_id"],
                        event_id=row["event_id"],
                    ),
                    row["active"],
                    row["source_updated_at"],
                ),
            )
    return ws


async def load_open_work(session: AsyncSession, ws: WorkingSet, practice_id: str) -> dict[str, int]:
    """Open conversations per assignee (X-BALANCE-1 least open); once per practice per batch."""
    if practice_id not in ws.open_work:
        c = storage.conversations
        rows = await session.execute(
            select(c.c.assignee, func.count())
            .where(c.c.practice_id == practice_id, c.c.status == "open", c.c.assignee.is_not(None))
            .group_by(c.c.assignee)
        )
        ws.open_work[practice_id] = {staff: count for staff, count in rows}
    return ws.open_work[practice_id]


def _conversation(row: Any) -> ConversationState:
    return ConversationState(
        conversation_id=row["conversation_id"],
        reason=row["reason"],
        reason_set_at=row["reason_set_at"],
        last_patient_message_at=row["last_patient_message_at"],
        assigned=row["assigned"],
        status=row["status"],
        patient_read_last_practice_message=row["patient_read_last"],
        patient_id=row["patient_id"],
        assignee=row["assignee"],
        location_id=row["location_id"],
        provider_id=row["provider_id"],
        shared_inboxes=tuple(row["shared_inboxes"]),
    )


async def flush(session: AsyncSession, ws: WorkingSet, history: Sequence[dict[str, Any]]) -> None:
    """Write back what the batch changed: one statement per table (see `write_rows`)."""
    now = datetime.now(UTC)
    await write_rows(
        session,
        storage.practice_config,
        [
            {"practice_id": p, "config": ws.configs[p].to_json(), "updated_at": now}
            for p in sorted(ws.dirty_configs)
        ],
        conflict=["practice_id"],
        update=["config", "updated_at"],
    )
    await write_rows(session, storage.config_history, history, conflict=["event_id"])
    conversations = [
        _conversation_row(ws.conversation_practice[cid], ws.conversations[cid])
        for cid in sorted(ws.dirty_conversations)
    ]
    await write_rows(
        session,
        storage.conversations,
        conversations,
        conflict=["conversation_id"],
        update=[c for c in conversations[0] if c != "conversation_id"] if conversations else [],
    )
    patients = []
    for practice, pid in sorted(ws.dirty_patients):
        patient = ws.patients[(practice, pid)]
        patients.append(
            {
                "practice_id": practice,
                "patient_id": pid,
                "profile_location_id": patient.profile_location_id,
                "profile_provider_id": patient.profile_provider_id,
                "contacts": list(patient.contacts),
                "source_updated_at": patient.source_updated_at,
            }
        )
    await write_rows(
        session,
        storage.patients,
        patients,
        conflict=["practice_id", "patient_id"],
        update=["profile_location_id", "profile_provider_id", "contacts", "source_updated_at"],
    )
    if ws.contact_removes:
        table = storage.patient_contacts
        await session.execute(
            delete(table).where(
                tuple_(table.c.practice_id, table.c.contact, table.c.patient_id).in_(
                    sorted(ws.contact_removes)
                )
            )
        )
    await write_rows(
        session,
        storage.patient_contacts,
        [{"practice_id": p, "contact": c, "patient_id": i} for p, c, i in sorted(ws.contact_adds)],
        conflict=["practice_id", "contact", "patient_id"],
    )
    appointments = []
    for practice, appointment_id in sorted(ws.dirty_appointments):
        appt = ws.appointments[(practice, appointment_id)]
        appointments.append(
            {
                "practice_id": practice,
                "appointment_id": appointment_id,
                "patient_id": appt.patient_id,
                "start": appt.appointment.start,
                "location_id": appt.appointment.location_id,
                "provider_id": appt.appointment.provider_id,
                "active": appt.active,
                "source_version": appt.appointment.version,
                "source_updated_at": appt.source_updated_at,
                "event_id": appt.appointment.event_id,
            }
        )
    await write_rows(
        session,
        storage.appointments,
        appointments,
        conflict=["practice_id", "appointment_id"],
        update=[k for k in appointments[0] if k not in ("practice_id", "appointment_id")]
        if appointments
        else [],
    )
    await write_rows(
        session,
        storage.directory,
        [
            {"practice_id": p, "kind": k, "item_id": i, "name": name, "active": active}
            for (p, k, i), (name, active) in sorted(ws.directory.items())
        ],
        conflict=["practice_id", "kind", "item_id"],
        update=["name", "active"],
    )
    await write_rows(
        session,
        storage.rr_cursor,
        [
            {"practice_id": p, "inbox": i, "last_staff_id": ws.rr_cursor[p][i]}
            for p, i in sorted(ws.dirty_cursors)
        ],
        conflict=["practice_id", "inbox"],
        update=["last_staff_id"],
    )
    await write_rows(
        session, storage.decisions, [vars(d) for d in ws.decided], conflict=["event_id"]
    )


def _conversation_row(practice_id: str, c: ConversationState) -> dict[str, Any]:
    return {
        "conversation_id": c.conversation_id,
        "practice_id": practice_id,
        "patient_id": c.patient_id,
        "reason": c.reason,
        "reason_set_at": c.reason_set_at,
        "last_patient_message_at": c.last_patient_message_at,
        "status": c.status,
        "assigned": c.assigned,
        "patient_read_last": c.patient_read_last_practice_message,
        "assignee": c.assignee,
        "location_id": c.location_id,
        "provider_id": c.provider_id,
        "shared_inboxes": list(c.shared_inboxes),
    }
