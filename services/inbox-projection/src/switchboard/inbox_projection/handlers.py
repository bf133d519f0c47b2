# ruff: noqa: S608  (SQL text holds only generation schema and column names from the tables)
"""Apply a batch of events to one generation of the inbox read models.

One batch = one transaction (the platform consumer opens it): load the state the batch
touches with a handful of `= ANY(array)` queries, fold the events in Python (model.py), and
write the result with executemany statements compiled once. Events already applied to this
generation are skipped (table `applied`), so the live consumer and a rebuild never apply an
event twice to the same tables.

Its size: one load and one write statement per read-model table, in one transaction.
"""

from __future__ import annotations

import functools
import operator
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Table, any_, bindparam, delete, func, select, text, tuple_, update
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql
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
    RoutingProposalApplied,
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
    earliest_copies,
    membership_rows,
)
from switchboard.platform.metrics import END_TO_END_SECONDS

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
    emitted = await apply_batch(session, events, await current_generation(session), emit=True)
    received = [(e.channel, e.received_at) for e in events if isinstance(e, MessageReceived)]
    if received:
        # Visible to staff once this transaction commits: measure the end-to-end time then.
        def observe(_: object) -> None:
            now = datetime.now(UTC)
            for channel, at in received:
                END_TO_END_SECONDS.labels(str(channel)).observe((now - at).total_seconds())

        sa_event.listen(session.sync_session, "after_commit", observe, once=True)
    return emitted


async def apply_batch(
    session: AsyncSession,
    events: Sequence[Event],
    schema: str,
    *,
    emit: bool,
    membership: bool = True,
) -> list[Event]:
    """Apply `events` to generation `schema`; the events to publish (only with `emit`).
    Without `membership`, the membership rows are not written. A rebuild's bulk load uses
    bulk.py instead."""
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
    await write(session, t, fold, membership)
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
    staff |= {
        (e.practice_id, sub.staff_id)
        for e in events
        if isinstance(e, RoutingProposalApplied)
        for sub in e.subscriptions
    }
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


def _cols(table: Table) -> list[str]:
    return [c.name for c in table.columns if c.computed is None]


_PG_TYPES = {
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TEXT[]": "text[]",
    "BOOLEAN": "bool",
    "INTEGER": "int4",
}


@functools.cache
def _copy_plan(table: Table) -> tuple[list[str], list[str], frozenset[str]]:
    """Columns, their PostgreSQL types (for COPY), and which of them are jsonb."""
    cols = [c for c in table.columns if c.computed is None]
    names = [str(c.type.compile(dialect=postgresql.dialect())) for c in cols]
    types = [_PG_TYPES.get(n, n.lower()) for n in names]
    jsonb = frozenset(c.name for c, t in zip(cols, types, strict=True) if t == "jsonb")
    return [c.name for c in cols], types, jsonb


async def copy_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Any],
    *,
    conflict: str | None = None,
    tuples: bool = False,
) -> None:
    """Write rows with COPY (one round trip for the whole batch). With `conflict` (the SQL
    after ON CONFLICT), through a temporary staging table and one INSERT ... SELECT."""
    if not rows:
        return
    cols, types, jsonb = _copy_plan(table)
    target = f'"{table.schema}".{table.name}'
    names = ", ".join(cols)
    conn = await session.connection()
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    into = target
    if conflict is not None:
        into = f"_stage_{table.name}"
        await session.execute(
            text(f"CREATE TEMP TABLE IF NOT EXISTS {into} (LIKE {target}) ON COMMIT DELETE ROWS")
        )
    pick = operator.itemgetter(*cols)
    sql = f"COPY {into} ({names}) FROM STDIN (FORMAT BINARY)"
    async with raw.cursor() as cur, cur.copy(sql) as copy:
        copy.set_types(types)
        if tuples:
            for values in rows:
                await copy.write_row(values)
        elif not jsonb:
            for row in rows:
                await copy.write_row(pick(row))
        else:
            for row in rows:
                await copy.write_row(
                    [Jsonb(row[c]) if c in jsonb and row[c] is not None else row[c] for c in cols]
                )
    if conflict is not None:
        await session.execute(
            text(
                f"INSERT INTO {target} ({names}) SELECT {names} FROM {into} ON CONFLICT {conflict}"
            )
        )
        await session.execute(text(f"TRUNCATE {into}"))


# A second copy of a message keeps the earlier time (model.earliest_copies, X-REPLAY-1).
EARLIEST_COPY = (
    "(message_id) DO UPDATE SET sent_at = excluded.sent_at"
    " WHERE excluded.sent_at < messages.sent_at"
)


def _update_all(table: Table, keys: Sequence[str]) -> str:
    sets = ", ".join(f"{c} = excluded.{c}" for c in _cols(table) if c not in keys)
    return f"({', '.join(keys)}) DO UPDATE SET {sets}"


async def write(
    session: AsyncSession,
    t: dict[str, Table],
    fold: Fold,
    membership: bool = True,
) -> None:
    """Write a folded batch (the live path; a rebuild's bulk load writes with bulk.py)."""
    convs = [fold.conversations[c] for c in sorted(fold.dirty)]
    conv_t = t["conversations"]
    await copy_rows(
        session,
        conv_t,
        [c.row() for c in convs],
        conflict=_update_all(conv_t, ["conversation_id"]),
    )
    await copy_rows(session, t["messages"], earliest_copies(fold.messages), conflict=EARLIEST_COPY)
    await copy_rows(session, t["deliveries"], fold.deliveries, conflict="DO NOTHING")
    await copy_rows(session, t["decisions"], fold.decisions, conflict="DO NOTHING")
    pt = t["patients"]
    await copy_rows(
        session,
        pt,
        [fold.patients[k].row() for k in sorted(fold.dirty_patients)],
        conflict=_update_all(pt, ["practice_id", "patient_id"]),
    )
    await _many(
        session,
        _upsert(t["care_teams"], ["practice_id", "care_team_id"]),
        [fold.care_teams[k].row() for k in sorted(fold.dirty_care_teams)],
    )
    await write_small(session, t, fold)
    # membership: rewrite the rows of every conversation that changed
    m = t["membership"]
    if convs and membership:
        await session.execute(
            delete(m).where(
                m.c.conversation_id == any_(_uuids("c", [c.conversation_id for c in convs]))
            )
        )
        boxed: list[tuple[Any, ...]] = []
        for c in convs:
            boxed += membership_rows(c, fold.now_boxes[c.conversation_id])
        await copy_rows(session, m, boxed, tuples=True)
    await close_history(session, t, fold)
    await copy_rows(
        session,
        t["membership_history"],
        [
            (r["practice_id"], r["box"], r["conversation_id"], r["valid_from"], r["valid_to"])
            for r in fold.history_open
        ],
        tuples=True,
    )
    # ids were checked under the generation's lock: plain COPY
    await copy_rows(session, t["applied"], fold.applied)


async def _many(session: AsyncSession, stmt: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(stmt, rows)


async def write_small(session: AsyncSession, t: dict[str, Table], fold: Fold) -> None:
    """The rows of a batch few events make: read markers, locations, shared-inbox
    subscriptions, staff access and staff addresses."""
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
    await _many(
        session,
        _upsert(t["locations"], ["practice_id", "location_id"]),
        [fold.locations[k] for k in sorted(fold.locations)],
    )
    s = t["inbox_subscriptions"]
    await _many(
        session,
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
    await _many(session, insert(s), fold.subs_open)
    sah = t["staff_access_history"]
    await _many(
        session,
        update(sah)
        .where(
            sah.c.practice_id == bindparam("p"),
            sah.c.staff_id == bindparam("s"),
            sah.c.valid_to.is_(None),
        )
        .values(valid_to=bindparam("t")),
        fold.access_close,
    )
    await _many(session, insert(sah), fold.access_open)
    if fold.dirty_address_staff:
        sa = t["staff_addresses"]
        keys = sorted(fold.dirty_address_staff)
        await session.execute(delete(sa).where(tuple_(sa.c.practice_id, sa.c.staff_id).in_(keys)))
        rows = [
            {"practice_id": p, "address": a, "staff_id": st}
            for (p, a), st in sorted(fold.addresses.items())
            if (p, st) in fold.dirty_address_staff
        ]
        await _many(session, _upsert(sa, ["practice_id", "address"]), rows)


async def close_history(session: AsyncSession, t: dict[str, Table], fold: Fold) -> None:
    """Close the membership intervals opened by earlier batches that this one ended (before
    this batch's own intervals are written: they are not closed)."""
    h = t["membership_history"]
    if fold.history_close:
        await session.execute(
            text(
                f"""UPDATE "{h.schema}".membership_history h SET valid_to = x.t
                FROM unnest(CAST(:c AS uuid[]), CAST(:b AS text[]), CAST(:t AS timestamptz[]))
                    AS x(c, b, t)
                WHERE h.conversation_id = x.c AND h.box = x.b AND h.valid_to IS NULL"""
            ),
            {
                "c": [r["c"] for r in fold.history_close],
                "b": [r["b"] for r in fold.history_close],
                "t": [r["t"] for r in fold.history_close],
            },
        )
        # an interval closed at the instant it opened was never there
        await session.execute(
            text(
                f"""DELETE FROM "{h.schema}".membership_history
                WHERE conversation_id = ANY(CAST(:c AS uuid[])) AND valid_to = valid_from"""
            ),
            {"c": sorted({r["c"] for r in fold.history_close})},
        )
