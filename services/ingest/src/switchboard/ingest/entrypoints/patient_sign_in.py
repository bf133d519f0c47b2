"""The patient page's sign-in (R-REASON-2, I-REPLY-1): who is writing, checked before any
message is taken, and the session every other patient route depends on.

    POST /patient/{p}/sessions            identity check (name + date of birth against the
                                          practice's patients using the phone, or the address
                                          a secure message went to) -> a bearer token
    GET  /patient/{p}/practice            what the page shows before sign-in (no sign-in):
                                          the practice's name, the emergency notice, its
                                          response target, hours and holidays (X-PATIENTPAGE-1)

The page's language (X-LANG-2, domain/language.py): sign-in answers with it (the page's
switch, else the patient's preferred language, else Accept-Language); every other call says
it in Accept-Language, which the page sets to the language it shows.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.ingest.adapters import patient_store, queries
from switchboard.ingest.adapters.peers import Peers, PeerUnavailable
from switchboard.ingest.adapters.sign_in_limit import SignInLimiter
from switchboard.ingest.domain.identity import matching_patients
from switchboard.ingest.domain.language import NAMES, SUPPORTED, Language, choose
from switchboard.ingest.domain.links import secure_token_valid
from switchboard.ingest.domain.patient_words import emergency_notice
from switchboard.ingest.domain.received import messenger_conversation
from switchboard.ingest.settings import IngestSettings
from switchboard.platform.logging import get_logger
from switchboard.platform.problems import AUTHED, problems
from switchboard.rules.contacts import normalize_phone

log = get_logger(__name__)
router = APIRouter(
    prefix="/patient/{practice}",
    tags=["patient page"],
    responses=AUTHED | problems(404, 410, 413, 429, 503),
)
Practice = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
NOT_VERIFIED = "we could not verify these details"


def ingest_settings(request: Request) -> IngestSettings:
    settings: IngestSettings = request.app.state.settings
    return settings


def db_session(request: Request) -> AsyncSession:
    return request.app.state.runtime.sessionmaker()  # type: ignore[no-any-return]


def request_language(request: Request) -> Language:
    """The language the page asked in (its Accept-Language), else English (X-LANG-2)."""
    return choose(accept_language=request.headers.get("accept-language"))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class PatientSession:
    practice_id: str
    patient_id: str
    conversation_id: uuid.UUID
    kind: str  # messenger | secure
    address: str
    line: str


async def patient_session(practice: Practice, request: Request) -> PatientSession:
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        raise HTTPException(401, "sign in first", headers={"WWW-Authenticate": "Bearer"})
    async with db_session(request) as db:
        row = await patient_store.session_by_token_hash(db, _hash(auth[7:].strip()))
    if row is None or row.practice_id != practice or row.expires_at <= datetime.now(UTC):
        raise HTTPException(401, "session expired, sign in again")
    return PatientSession(
        row.practice_id, row.patient_id, row.conversation_id, row.kind, row.address, row.line
    )


Session = Annotated[PatientSession, Depends(patient_session)]


class SignIn(BaseModel):
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    birth_date: date
    # The messenger: the patient's mobile number.
    phone: str | None = Field(default=None, max_length=32)
    # The link in a secure email's notice.
    secure_message_id: uuid.UUID | None = None
    secure_token: str | None = Field(default=None, max_length=100)
    # The language the patient picked with the page's switch, if they did (X-LANG-2).
    language: str | None = Field(default=None, max_length=35)


class SignedIn(BaseModel):
    token: str
    expires_at: datetime
    conversation_id: uuid.UUID
    kind: str
    # The page's language from now on (X-LANG-2).
    language: str


def practice_display_name(request: Request, practice: str) -> str:
    """The practice's name as configured (`practice_names`, when the settings have it), else
    one made from its id: "acme-family-care" -> "Acme Family Care"."""
    names = getattr(ingest_settings(request), "practice_names", None) or {}
    name = names.get(practice) if isinstance(names, dict) else None
    return str(name) if name else " ".join(re.split(r"[-_]+", practice)).title()


@router.get("/practice")
async def practice_info(practice: Practice, request: Request) -> dict[str, Any]:
    """What the page shows before sign-in (X-PATIENTPAGE-1): the practice's name, the
    emergency notice, and its office from the router (response target in minutes, business
    hours, upcoming holidays, time zone; `office` null when the router cannot be asked, the
    page then leaves them out). Nothing about patients."""
    if practice not in request.app.state.directory.practices:
        raise HTTPException(404, "no such practice")
    peers: Peers = request.app.state.peers
    office: dict[str, Any] | None = None
    try:
        known = await peers.office(practice)
    except PeerUnavailable as exc:
        log.warning("office_unavailable", practice_id=practice, error=str(exc))
    else:
        today = datetime.now(UTC).date().isoformat()
        office = {
            "timezone": known.timezone,
            "response_minutes": known.sla_minutes,
            "business_hours": known.business_hours,
            "holidays": [d for d in known.holidays if d >= today][:10],
        }
    settings = ingest_settings(request)
    language = request_language(request)
    return {
        "practice_id": practice,
        "name": practice_display_name(request, practice),
        "emergency_notice": emergency_notice(
            settings.patient_emergency_notice, language, settings.patient_emergency_notices
        ),
        "office": office,
        # covers X-LANG-2: before sign-in, the browser's Accept-Language chooses
        "language": language,
        "languages": [{"code": code, "name": NAMES[code]} for code in SUPPORTED],
    }


@router.post("/sessions", status_code=201, response_model=SignedIn)
async def sign_in(practice: Practice, body: SignIn, request: Request) -> SignedIn:
    settings = ingest_settings(request)
    if practice not in request.app.state.directory.practices:
        raise HTTPException(404, "no such practice")
    peers: Peers = request.app.state.peers
    attempts: SignInLimiter = request.app.state.attempts
    if body.secure_message_id is not None:
        kind = "secure"
        if not body.secure_token or not secure_token_valid(
            settings, practice, body.secure_message_id, body.secure_token
        ):
            raise HTTPException(403, "this link is not valid")
        async with db_session(request) as db:
            row, linked = await patient_store.secure_notice(db, practice, body.secure_message_id)
        if row is None:
            raise HTTPException(404, "no such message")
        if row.created_at + timedelta(seconds=settings.secure_link_ttl_s) < datetime.now(UTC):
            raise HTTPException(410, "this link has expired; ask the practice to send it again")
        address, line, conversation = row.to_addr.lower(), row.line, row.conversation_id
        key = f"{practice}|secure|{body.secure_message_id}"
    else:
        kind = "messenger"
        phone = normalize_phone(body.phone or "")
        if phone is None:
            raise HTTPException(422, "a valid mobile number is required")
        address, key, linked = phone, f"{practice}|phone|{phone}", None
        main = request.app.state.directory.main_line(practice)
        line = main.address if main is not None else "messenger"
        conversation = None
    wait_s = await attempts.retry_after(key)
    if wait_s is not None:
        raise HTTPException(
            429, "too many attempts; try again later", headers={"Retry-After": str(wait_s)}
        )
    try:
        if kind == "secure":
            candidates = await peers.patients_by_contact(practice, email=address)
            if linked and all(c.patient_id != linked for c in candidates):
                found = await peers.patient(practice, linked)
                candidates += [found] if found else []
        else:
            candidates = await peers.patients_by_contact(practice, phone=address)
    except PeerUnavailable as exc:
        log.warning("identity_check_unavailable", practice_id=practice, error=str(exc))
        raise HTTPException(503, "cannot verify right now, try again shortly") from None
    ids = matching_patients(candidates, body.given_name, body.family_name, body.birth_date)
    if len(ids) != 1:
        await attempts.failed(key)
        log.info("identity_not_verified", practice_id=practice, kind=kind, matches=len(ids))
        raise HTTPException(401, NOT_VERIFIED)
    await attempts.succeeded(key)
    patient_id = ids[0]
    preferred = next((c.preferred_language for c in candidates if c.patient_id == patient_id), None)
    language = choose(body.language, preferred, request.headers.get("accept-language"))
    if conversation is None:
        conversation = await _messenger_conversation(request, practice, line, address, patient_id)
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires = now + timedelta(seconds=settings.session_ttl_s)
    async with db_session(request) as db, db.begin():
        await patient_store.add_session(
            db,
            token_hash=_hash(token),
            practice_id=practice,
            patient_id=patient_id,
            conversation_id=conversation,
            kind=kind,
            address=address,
            line=line,
            created_at=now,
            expires_at=expires,
        )
    log.info("patient_signed_in", practice_id=practice, kind=kind)
    return SignedIn(
        token=token,
        expires_at=expires,
        conversation_id=conversation,
        kind=kind,
        language=language,
    )


async def _messenger_conversation(
    request: Request, practice: str, line: str, phone: str, patient_id: str
) -> uuid.UUID:
    async with db_session(request) as db:
        owners = await queries.contact_owners(db, practice, phone)
    return messenger_conversation(practice, line, phone, patient_id, owners)
