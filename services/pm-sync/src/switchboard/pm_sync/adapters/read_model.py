"""pm-sync's read-model writer (an adapter: all of its SQL). The consumer of pm-sync's own
`switchboard.pm` events folds a batch (domain/projection.py) and this upserts it into schema
pm_sync, where a row is replaced only by a newer version, so duplicates, redeliveries and
out-of-order updates never duplicate or regress anything."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, delete, func, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import Event
from switchboard.pm_sync.adapters import storage
from switchboard.pm_sync.domain import projection

# Rows per statement for the contact index (well under PostgreSQL's 65,535 parameters).
_CHUNK = 500


@functools.cache
def _upsert(
    table: Table,
    keys: tuple[str, ...],
    order: tuple[str, ...],
    keep: tuple[str, ...] = (),
    returning: bool = False,
    ties_to_new: bool = False,
) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE ... WHERE (new order) > (stored order) [RETURNING keys]
    (`>=` with `ties_to_new`: on an equal order the later row, in log order, wins).
    Columns in `keep` keep their stored value when the newer row has none. Built once per
    table and run executemany-style, so SQLAlchemy compiles it once; without RETURNING the
    driver runs it as a prepared executemany (with it, as one long multi-row statement)."""
    stmt = insert(table)
    new, stored = tuple_(*(stmt.excluded[c] for c in order)), tuple_(*(table.c[c] for c in order))
    newer = new >= stored if ties_to_new else new > stored
    values: dict[str, Any] = {
        c.name: func.coalesce(stmt.excluded[c.name], table.c[c.name])
        if c.name in keep
        else stmt.excluded[c.name]
        for c in table.columns
        if c.name not in keys
    }
    upsert = stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys], set_=values, where=newer
    )
    return upsert.returning(*(table.c[k] for k in keys)) if returning else upsert


async def _upsert_newer(
    session: AsyncSession,
    table: Table,
    rows: list[dict[str, Any]],
    keys: tuple[str, ...],
    order: tuple[str, ...],
    keep: tuple[str, ...] = (),
    returning: bool = False,
    ties_to_new: bool = False,
) -> list[Any]:
    """Insert rows; replace an existing row only when `order` of the new one is greater (or
    equal, with `ties_to_new`). With `returning`, the primary keys of the rows written. Rows
    must have distinct keys (fold first)."""
    if not rows:
        return []
    statement = _upsert(table, keys, order, keep, returning, ties_to_new)
    result = await session.execute(statement, rows)
    return list(result.all()) if returning else []


async def handle_batch(session: AsyncSession, events: Sequence[Event]) -> list[Event]:
    folded = projection.fold(events)
    await _upsert_newer(
        session,
        storage.appointments,
        [projection.appointment_row(e) for e in folded.appointments],
        ("practice_id", "appointment_id"),
        ("source_version", "source_updated_at", "status_rank", "event_id"),
    )
    written = await _upsert_newer(
        session,
        storage.patients,
        [projection.patient_row(e) for e in folded.patients],
        ("practice_id", "patient_id"),
        # the one rule every consumer applies (contacts.replaces): a tie goes to the later
        ("source_updated_at",),
        # HL7 ADT has no field for the patient's zone: an update that does not say keeps it
        ("timezone",),
        returning=True,
        ties_to_new=True,
    )
    if written:
        # The contact index follows the patient row that won.
        won = {(r.practice_id, r.patient_id) for r in written}
        await _replace_contacts(
            session, [p for p in folded.patients if (p.practice_id, p.patient_id) in won]
        )
    await _upsert_newer(
        session,
        storage.care_teams,
        [projection.care_team_row(e) for e in folded.care_teams],
        ("practice_id", "care_team_id"),
        ("source_updated_at", "event_id"),
    )
    await _upsert_newer(
        session,
        storage.locations,
        [projection.location_row(e) for e in folded.locations],
        ("practice_id", "location_id"),
        ("updated_at", "event_id"),
    )
    await _upsert_newer(
        session,
        storage.providers,
        [projection.provider_row(e) for e in folded.providers],
        ("practice_id", "provider_id"),
        ("updated_at", "event_id"),
    )
    return []


_INSERT_CONTACTS = insert(storage.contacts).on_conflict_do_nothing()


async def _replace_contacts(session: AsyncSession, patients: Sequence[Any]) -> None:
    c = storage.contacts
    for start in range(0, len(patients), _CHUNK):
        part = patients[start : start + _CHUNK]
        await session.execute(
            delete(c).where(
                tuple_(c.c.practice_id, c.c.patient_id).in_(
                    [(p.practice_id, p.patient_id) for p in part]
                )
            )
        )
        rows = [row for p in part for row in projection.contact_rows(p)]
        if rows:
            await session.execute(_INSERT_CONTACTS, rows)
