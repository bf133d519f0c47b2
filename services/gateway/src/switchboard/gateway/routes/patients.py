"""Patients as staff find them: the panel beside a conversation, the candidates to link an
unrecognized conversation to, and the patient directory.

    GET /api/conversations/{id}/panel                 patient panel from pm-sync (I-PANEL-1)
    GET /api/conversations/{id}/link-candidates       I-UNREC-1
    GET /api/patients?q=                              patients by name, phone or email

Who may read a patient is conversation_access.py's (the same rule as for the patient's
conversations); the practice comes from the token only (T-1).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from switchboard.events.internal.pm_sync import PatientPanel
from switchboard.gateway import clients
from switchboard.gateway.access_log import record_access
from switchboard.gateway.app_state import session_of
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import inbox_user
from switchboard.gateway.conversation_access import (
    Caller,
    VisibleConversation,
    visible_patients,
)
from switchboard.gateway.readmodel import inbox
from switchboard.platform.problems import AUTHED, PEERS, problems
from switchboard.rules.contacts import contact_key

router = APIRouter(
    prefix="/api", tags=["inbox"], responses=AUTHED | PEERS | problems(404, 409, 413)
)


@router.get("/conversations/{conversation_id}/panel")
async def patient_panel(
    conversation_id: uuid.UUID, request: Request, p: Caller, row: VisibleConversation
) -> Any:
    """The patient panel beside a conversation (I-PANEL-1): name, age, contacts, demographics,
    language, local time, care team, primary contact, up to five encounters. From pm-sync.
    Whoever may read the conversation may read its patient's panel."""
    async with session_of(request) as session, session.begin():
        await record_access(session, p, conversation_id, "panel")
    if row["patient_id"] is None:
        raise HTTPException(409, "unrecognized conversation: link it to a patient first")
    response = await clients.of(request).call(
        "pm_sync", "GET", f"/internal/practices/{p.practice_id}/patients/{row['patient_id']}"
    )
    if response.status_code == 404:
        raise HTTPException(404, "the practice-management system has no such patient")
    if response.status_code != 200:
        raise clients.of(request).failed("pm_sync", response)
    return clients.relayed(clients.of(request).parsed("pm_sync", PatientPanel, response.json()))


def _patients(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "patient_id": r["patient_id"],
            "name": f"{r['given_name']} {r['family_name']}".strip(),
            "birth_date": r["birth_date"],
            "phones": r["phones"],
            "emails": r["emails"],
            "care_team": r["care_team"],
            "primary_contact": r["primary_contact"],
        }
        for r in rows
    ]


@router.get("/conversations/{conversation_id}/link-candidates")
async def link_candidates(
    conversation_id: uuid.UUID,
    request: Request,
    p: Caller,
    row: VisibleConversation,
    q: Annotated[str | None, Query(min_length=2, max_length=200)] = None,
) -> dict[str, Any]:
    """Patients to link an unrecognized conversation to (I-UNREC-1): every patient the
    sender's phone or email belongs to, and, with `q`, patients found by name. This is how
    staff who may read the conversation find its patient ("otherwise staff search")."""
    async with session_of(request) as session:
        sender = row["sender"]
        contact = contact_key(sender)
        matched = await inbox.patients(
            session, p.practice_id, ids=list(row["matched_patient_ids"] or []), contact=contact
        )
        found = await inbox.patients(session, p.practice_id, name=q) if q is not None else []
    return {
        "conversation_id": str(conversation_id),
        "unrecognized": row["patient_id"] is None,
        "matching": _patients(matched),
        "search": _patients(found),
    }


@router.get("/patients")
async def find_patients(
    request: Request,
    p: Annotated[Principal, Depends(inbox_user)],
    q: Annotated[str, Query(min_length=2, max_length=200)],
) -> list[dict[str, Any]]:
    """Patients by name, phone or email: those the caller may read (a policy covering every
    patient, or one of the patient's conversations readable: conversation_access.py). To
    link an unrecognized conversation, search from it: `.../link-candidates?q=`."""
    async with session_of(request) as session:
        if "@" in q:
            rows = await inbox.patients(session, p.practice_id, contact=q.lower())
        elif inbox.normalize_phone(q) and not any(ch.isalpha() for ch in q):
            rows = await inbox.patients(session, p.practice_id, contact=inbox.normalize_phone(q))
        else:
            rows = await inbox.patients(session, p.practice_id, name=q)
        rows = await visible_patients(session, p, rows)
    return _patients(rows)
