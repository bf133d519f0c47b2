"""Apply a batch of events to one generation of the inbox read models.

One batch = one transaction (the platform consumer opens it): load the state the batch
touches with a handful of `= ANY(array)` queries, fold the events in Python (model.py), and
write the result with executemany statements compiled once. Events already applied to this
generation are skipped (table `applied`), so the live consumer and a rebuild never apply an
event twice to the same tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, any_, bindparam, delete, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY, UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

from switchboard.events import (
    CareTeamUpserted,
    ConversationLinked,
    Event,
    MessageReceived,
    MessageRouted,
    PatientUpserted,
    StaffAddressesSet,
    StaffSubscriptionsSet,
)
from switchboard.events.actions import ConversationAction
from switchboard.inbox_projection import storage
from switchboard.inbox_projection.model import (
    HANDLED,
    CareTeam,
    Conversation,
    Fold,
    Patient,
    membership_rows,
)

UUIDS = ARRAY(UUID(as_uuid=True))
TEXTS = ARRAY(Text)


def _uuids(name: str, values: Any) -> Any:
    return bindparam(name, list(values), type_=UUIDS)


def _texts(name: str, values: Any) -> Any:
    return bindparam(name, list(values), type_=TEXTS)


async def current_generation(session: AsyncSession) -> str:
    """The live generation, read under the shared switch lock (see storage.SWITCH_LOCK)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": storage.SWITCH_LOCK}
    )
    g = storage.generations.c
    schema = await session.scalar(select(g.schema_name).where(g.active))
    return storage.check_generation(schema or storage.SCHEMA)


async def handle_batch(session: AsyncSession, events: Sequence[Event]) -> list[Event]:
    """The live consumer's handler: applies to the active generation."""
    return await apply_batch(session, events, await current_generation(session), emit=True)


async def apply_batch(
    session: AsyncSession, events: Sequence[Event], schema: str, *, emit: bool
) -> list[Event]:
    t = storage.tables(schema)
    events = [e for e in events if isinstance(e, HANDLED)]
    if not events:
        return []
    # One writer per generation at a time (the live consumer, a rebuild catching up, other
    # replicas): the `applied` check below then sees every committed batch.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:g))"), {"g": schema})
    ids = [e.event_id for e in events]
    seen = set(
        (
            await session.execute(
                select(t["applied"].c.event_id).where(
                    t["applied"].c.event_id == any_(_uuids("ids", ids))
                )
            )
        ).scalars()
    )
    fresh: list[Event] = []
    for e in events:
        if e.event_id not in seen:
            seen.add(e.event_id)
            fresh.append(e)
    if not fresh:
        return []
    fold = await load(session, t, fresh)
    fold.emit = emit
    fold.apply(fresh)
    await write(session, t, fold)
    return fold.out


def _patient_keys(events: Sequence[Event]) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    for e in events:
        if isinstance(e, PatientUpserted | CareTeamUpserted):
            keys.add((e.practice_id, e.patient_id))
        elif isinstance(e, MessageRouted):
            if e.patient_id:
                keys.add((e.practice_id, e.patient_id))
            keys.update((e.practice_id, p) for p in e.matched_patient_ids)
        elif isinstance(e, MessageReceived | ConversationLinked) and e.patient_id:
            keys.add((e.practice_id, e.patient_id))
    return keys


async def load(session: AsyncSession, t: dict[str, Table], events: Sequence[Event]) -> Fold:
    fold = Fold()
    conversation_ids: set[uuid.UUID] = set()
    causes: set[uuid.UUID] = set()
    for e in events:
        cid = getattr(e, "conversation_id", None)
        if isinstance(cid, uuid.UUID):
            conversation_ids.add(cid)
        if isinstance(e, ConversationAction) and e.causation_id:
            causes.add(e.causation_id)
    pkeys = _patient_keys(events)
    changed_patients = {
        (e.practice_id, e.patient_id)
        for e in events
        if isinstance(e, PatientUpserted | CareTeamUpserted)
    }
    conv = t["conversations"]
    rows: list[Any] = []
    if conversation_ids:
        rows += (
            (
                await session.execute(
                    select(conv).where(
                        conv.c.conversation_id == any_(_uuids("c", conversation_ids))
                    )
                )
            )
            .mappings()
            .all()
        )
    if changed_patients:
        pids = {p for _, p in changed_patients}
        rows += (
            (
                await session.execute(
                    select(conv).where(
                        (conv.c.patient_id == any_(_texts("p", pids)))
                        | conv.c.matched_patient_ids.overlap(_texts("p2", pids))
                    )
                )
            )
            .mappings()
            .all()
        )
    for r in rows:
        c = Conversation.from_row(dict(r))
        fold.conversations[c.conversation_id] = c
        if c.patient_id:
            pkeys.add((c.practice_id, c.patient_id))
        pkeys.update((c.practice_id, p) for p in c.matched_patient_ids)
    if pkeys:
        pt = t["patients"]
        for r in (
            await session.execute(
                select(pt).where(pt.c.patient_id == any_(_texts("p", {p for _, p in pkeys})))
            )
        ).mappings():
            key = (r["practice_id"], r["patient_id"])
            if key in pkeys:
                fold.patients[key] = Patient.from_row(dict(r))
    if changed_patients:
        ct = t["care_teams"]
        for r in (
            await session.execute(
                select(ct).where(
                    ct.c.patient_id == any_(_texts("p", {p for _, p in changed_patients}))
                )
            )
        ).mappings():
            if (r["practice_id"], r["patient_id"]) in changed_patients:
                team = CareTeam(**{k: r[k] for k in CareTeam.__dataclass_fields__})
                team.members = list(team.members)
                fold.care_teams[(team.practice_id, team.care_team_id)] = team
    practices = {
        e.practice_id for e in events if isinstance(e, MessageReceived | StaffAddressesSet)
    }
    if practices:
        sa = t["staff_addresses"]
        for r in await session.execute(
            select(sa.c.practice_id, sa.c.address, sa.c.staff_id).where(
                sa.c.practice_id == any_(_texts("pr", practices))
            )
        ):
            fold.addresses[(r.practice_id, r.address)] = r.staff_id
    staff = {(e.practice_id, e.staff_id) for e in events if isinstance(e, StaffSubscriptionsSet)}
    if staff:
        s = t["inbox_subscriptions"]
        for r in await session.execute(
            select(s.c.practice_id, s.c.staff_id, s.c.inbox).where(
                s.c.staff_id == any_(_texts("s", {x for _, x in staff})), s.c.valid_to.is_(None)
            )
        ):
            if (r.practice_id, r.staff_id) in staff:
                fold.subscriptions.setdefault((r.practice_id, r.staff_id), set()).add(r.inbox)
    if causes:
        a = t["applied"]
        for r in await session.execute(
            select(a.c.event_id, a.c.outcome).where(a.c.event_id == any_(_uuids("e", causes)))
        ):
            fold.outcomes[r.event_id] = r.outcome
    fold.loaded()
    return fold


def _upsert(table: Table, keys: Sequence[str], skip: Sequence[str] = ()) -> Any:
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={
            c.name: stmt.excluded[c.name]
            for c in table.columns
            if c.name not in keys and c.name not in skip and c.computed is None
        },
    )


async def write(session: AsyncSession, t: dict[str, Table], fold: Fold) -> None:
    async def many(stmt: Any, rows: list[dict[str, Any]]) -> None:
        if rows:
            await session.execute(stmt, rows)

    convs = [fold.conversations[c] for c in sorted(fold.dirty)]
    await many(_upsert(t["conversations"], ["conversation_id"]), [c.row() for c in convs])
    await many(insert(t["messages"]).on_conflict_do_nothing(), fold.messages)
    await many(insert(t["deliveries"]).on_conflict_do_nothing(), fold.deliveries)
    await many(insert(t["decisions"]).on_conflict_do_nothing(), fold.decisions)
    if fold.reads:
        r = t["reads"]
        stmt = insert(r)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[r.c.conversation_id, r.c.user_id],
                set_={"read_at": func.greatest(r.c.read_at, stmt.excluded.read_at)},
            ),
            list(fold.reads.values()),
        )
    await many(
        _upsert(t["patients"], ["practice_id", "patient_id"]),
        [fold.patients[k].row() for k in sorted(fold.dirty_patients)],
    )
    await many(
        _upsert(t["care_teams"], ["practice_id", "care_team_id"]),
        [fold.care_teams[k].row() for k in sorted(fold.dirty_care_teams)],
    )
    await many(
        _upsert(t["locations"], ["practice_id", "location_id"]),
        [fold.locations[k] for k in sorted(fold.locations)],
    )
    s = t["inbox_subscriptions"]
    await many(
        update(s)
        .where(
            s.c.practice_id == bindparam("p"),
            s.c.staff_id == bindparam("s"),
            s.c.inbox == bindparam("i"),
            s.c.valid_to.is_(None),
        )
        .values(valid_to=bindparam("t")),
        fold.subs_close,
    )
    await many(insert(s), fold.subs_open)
    if fold.dirty_address_staff:
        sa = t["staff_addresses"]
        keys = sorted(fold.dirty_address_staff)
        await session.execute(delete(sa).where(tuple_(sa.c.practice_id, sa.c.staff_id).in_(keys)))
        rows = [
            {"practice_id": p, "address": a, "staff_id": st}
            for (p, a), st in sorted(fold.addresses.items())
            if (p, st) in fold.dirty_address_staff
        ]
        await many(_upsert(sa, ["practice_id", "address"]), rows)
    # membership: rewrite the rows of every conversation that changed
    m = t["membership"]
    if convs:
        await session.execute(
            delete(m).where(
                m.c.conversation_id == any_(_uuids("c", [c.conversation_id for c in convs]))
            )
        )
        rows = []
        for c in convs:
            rows += membership_rows(c, fold.now_boxes[c.conversation_id])
        await many(insert(m), rows)
    h = t["membership_history"]
    await many(
        update(h)
        .where(
            h.c.conversation_id == bindparam("c"), h.c.box == bindparam("b"), h.c.valid_to.is_(None)
        )
        .values(valid_to=bindparam("t")),
        fold.history_close,
    )
    await many(insert(h), fold.history_open)
    await many(insert(t["applied"]).on_conflict_do_nothing(), fold.applied)
