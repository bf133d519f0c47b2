"""Reads and writes of schema pm_sync that the HTTP routes and the FHIR poller need.
SQL only; what to make of the rows is domain/panel.py."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import AppointmentChanged
from switchboard.pm_sync.adapters import storage
from switchboard.pm_sync.domain.panel import PatientPanel, PatientSummary, build_panel, summary
from switchboard.rules.contacts import normalize_email, normalize_phone


async def _names(
    session: AsyncSession, practice_id: str, appointments: Iterable[AppointmentChanged]
) -> tuple[dict[str, str], dict[str, str]]:
    loc_ids = {a.location_id for a in appointments if a.location_id}
    prov_ids = {a.provider_id for a in appointments if a.provider_id}
    locs: dict[str, str] = {}
    provs: dict[str, str] = {}
    if loc_ids:
        rows = await session.execute(
            select(storage.locations.c.location_id, storage.locations.c.name).where(
                storage.locations.c.practice_id == practice_id,
                storage.locations.c.location_id.in_(loc_ids),
            )
        )
        locs = {r.location_id: r.name for r in rows}
    if prov_ids:
        rows = await session.execute(
            select(storage.providers.c.provider_id, storage.providers.c.name).where(
                storage.providers.c.practice_id == practice_id,
                storage.providers.c.provider_id.in_(prov_ids),
            )
        )
        provs = {r.provider_id: r.name for r in rows}
    return locs, provs


async def patient_appointments(
    session: AsyncSession, practice_id: str, patient_id: str
) -> list[AppointmentChanged]:
    a = storage.appointments
    rows = await session.scalars(
        select(a.c.event).where(a.c.practice_id == practice_id, a.c.patient_id == patient_id)
    )
    return [AppointmentChanged.model_validate(e) for e in rows]


async def patient_panel(
    session: AsyncSession, practice_id: str, patient_id: str, now: datetime, default_tz: str
) -> PatientPanel | None:
    p = storage.patients
    row = (
        (
            await session.execute(
                select(p).where(p.c.practice_id == practice_id, p.c.patient_id == patient_id)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    ct = storage.care_teams
    teams = (
        (
            await session.execute(
                select(ct).where(ct.c.practice_id == practice_id, ct.c.patient_id == patient_id)
            )
        )
        .mappings()
        .all()
    )
    appointments = await patient_appointments(session, practice_id, patient_id)
    locs, provs = await _names(session, practice_id, appointments)
    return build_panel(
        dict(row), [dict(t) for t in teams], appointments, now, default_tz, locs, provs
    )


def normalize_contact(phone: str | None, email: str | None) -> str | None:
    """The index key of a phone (E.164) or an email (lower case); None when unusable."""
    if email:
        return normalize_email(email)
    if phone:
        return normalize_phone(phone)
    return None


async def patients_by_contact(
    session: AsyncSession, practice_id: str, contact: str, now: datetime, default_tz: str
) -> list[PatientSummary]:
    """Every patient of the practice using this (normalised) phone or email, by patient id."""
    c, p = storage.contacts, storage.patients
    rows = (
        (
            await session.execute(
                select(p)
                .join(c, (c.c.practice_id == p.c.practice_id) & (c.c.patient_id == p.c.patient_id))
                .where(c.c.practice_id == practice_id, c.c.contact == contact)
                .order_by(p.c.patient_id)
            )
        )
        .mappings()
        .all()
    )
    return [summary(dict(r), now, default_tz) for r in rows]


async def load_cursor(session: AsyncSession, practice_id: str, resource_type: str) -> str | None:
    f = storage.fhir_cursors
    value = await session.scalar(
        select(f.c.cursor).where(f.c.practice_id == practice_id, f.c.resource_type == resource_type)
    )
    return str(value) if value is not None else None


async def save_cursor(
    session: AsyncSession, practice_id: str, resource_type: str, cursor: str
) -> None:
    f = storage.fhir_cursors
    stmt = insert(f).values(practice_id=practice_id, resource_type=resource_type, cursor=cursor)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[f.c.practice_id, f.c.resource_type],
            set_={"cursor": stmt.excluded.cursor, "updated_at": datetime.now().astimezone()},
        )
    )
