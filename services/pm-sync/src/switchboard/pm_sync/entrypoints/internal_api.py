"""pm-sync's internal HTTP API: what the gateway (and other services) read from it.
Routes only; the SQL is in adapters/queries.py, the read models in domain/panel.py.

    GET  /internal/practices/{practice}/patients/{patient_id}   panel (I-PANEL-1)
    GET  /internal/practices/{practice}/patients?phone=...       patients using it (I-UNREC-1)
    GET  /internal/practices/{practice}/patients?email=...
    GET  /internal/practices/{practice}/locations | /providers  what routing settings offer
    POST /internal/practices/{practice}/sync                    "Sync with EHR" (locations,
                                                                 providers from FHIR, now)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from sqlalchemy import select

from switchboard.events.internal.pm_sync import PatientMatches, PatientPanel, Place, SyncCounts
from switchboard.platform.kafka import PublishError
from switchboard.platform.logging import get_logger
from switchboard.pm_sync.adapters import queries, storage
from switchboard.pm_sync.entrypoints.fhir_sync import FhirSync, FhirUnavailable
from switchboard.pm_sync.settings import PmSyncSettings

log = get_logger(__name__)


def _settings(request: Request) -> PmSyncSettings:
    settings: PmSyncSettings = request.app.state.settings
    return settings


router = APIRouter(prefix="/internal/practices/{practice}")
Practice = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]


def _now(request: Request) -> datetime:
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else datetime.now(UTC)


@router.get("/patients/{patient_id}", response_model=PatientPanel)
async def patient(practice: Practice, patient_id: str, request: Request) -> PatientPanel:
    rt = request.app.state.runtime
    async with rt.sessionmaker() as session:
        panel = await queries.patient_panel(
            session, practice, patient_id, _now(request), _settings(request).default_timezone
        )
    if panel is None:
        raise HTTPException(404, "no such patient in this practice")
    return panel


@router.get("/patients", response_model=PatientMatches)
async def patients_by_contact(
    practice: Practice,
    request: Request,
    phone: Annotated[str | None, Query(max_length=64)] = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
) -> PatientMatches:
    if (phone is None) == (email is None):
        raise HTTPException(422, "give exactly one of phone and email")
    contact = queries.normalize_contact(phone, email)
    if contact is None:
        raise HTTPException(422, "not a valid phone number" if phone else "not a valid email")
    rt = request.app.state.runtime
    async with rt.sessionmaker() as session:
        found = await queries.patients_by_contact(
            session, practice, contact, _now(request), _settings(request).default_timezone
        )
    return PatientMatches(practice_id=practice, patients=found)


@router.get("/locations", response_model=list[Place])
async def locations(practice: Practice, request: Request) -> list[Place]:
    t = storage.locations
    async with request.app.state.runtime.sessionmaker() as session:
        rows = await session.execute(
            select(t.c.location_id, t.c.name, t.c.active)
            .where(t.c.practice_id == practice)
            .order_by(t.c.name)
        )
        return [Place(id=r.location_id, name=r.name, active=r.active) for r in rows]


@router.get("/providers", response_model=list[Place])
async def providers(practice: Practice, request: Request) -> list[Place]:
    t = storage.providers
    async with request.app.state.runtime.sessionmaker() as session:
        rows = await session.execute(
            select(t.c.provider_id, t.c.name, t.c.active)
            .where(t.c.practice_id == practice)
            .order_by(t.c.name)
        )
        return [Place(id=r.provider_id, name=r.name, active=r.active) for r in rows]


@router.post("/sync", response_model=SyncCounts)
async def sync(practice: Practice, request: Request) -> SyncCounts:
    """Pull the practice's Locations and Practitioners from its FHIR server now and publish
    them (acks=all) before answering. Counts are of what the server returned."""
    fhir: FhirSync = request.app.state.fhir
    try:
        counts = await fhir.sync_now(practice)
    except KeyError:
        raise HTTPException(404, "this practice has no FHIR server configured") from None
    except FhirUnavailable as exc:
        log.warning("ehr_sync_failed", practice_id=practice, error=str(exc))
        raise HTTPException(502, f"FHIR server: {exc}") from None
    except PublishError as exc:
        raise HTTPException(503, f"could not store the result: {exc}") from None
    loc, prac = counts["Location"], counts["Practitioner"]
    log.info("ehr_sync_done", practice_id=practice, locations=loc.events, providers=prac.events)
    return SyncCounts(
        practice_id=practice,
        locations=loc.events,
        providers=prac.events,
        invalid=loc.invalid + prac.invalid,
        pages=loc.pages + prac.pages,
    )
