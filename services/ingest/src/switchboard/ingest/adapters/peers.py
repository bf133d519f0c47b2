"""The internal APIs ingest asks: the router (which reasons the messenger offers, R-REASON-2
and R-REASON-3) and pm-sync (patients by phone or email, and their details, for the
patient page's identity check). Answers are read into the same typed models the peers serve
(`switchboard.events.internal`): an answer that does not match is the peer's fault, said as
PeerUnavailable, not a KeyError further on."""

from __future__ import annotations

import uuid
from typing import TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from switchboard.events.internal.pm_sync import PatientMatches, PatientPanel, PatientSummary
from switchboard.events.internal.router import PracticeOffice, ReasonsOffer
from switchboard.ingest.domain.language import Language
from switchboard.ingest.domain.patient_words import notice_language
from switchboard.ingest.settings import IngestSettings
from switchboard.platform.internal_api import bearer
from switchboard.platform.logging import get_logger

log = get_logger(__name__)

Answer = TypeVar("Answer", bound=BaseModel)


class PeerUnavailable(RuntimeError):
    """The service did not answer usefully; the message names which and how."""


class Peers:
    def __init__(self, settings: IngestSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    async def _get(
        self, base: str, name: str, path: str, params: dict[str, str], model: type[Answer]
    ) -> Answer | None:
        """The peer's answer as `model`; None for 404."""
        try:
            r = await self.client.get(
                f"{base.rstrip('/')}{path}",
                params=params,
                headers=bearer(self.settings.internal_token),
                timeout=self.settings.internal_timeout_s,
            )
        except httpx.HTTPError as exc:
            raise PeerUnavailable(f"{name}: {type(exc).__name__}") from None
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise PeerUnavailable(f"{name}: HTTP {r.status_code}")
        try:
            return model.model_validate_json(r.content)
        except ValidationError as exc:
            # the field names only: a patient's details never reach the log
            where = sorted({".".join(map(str, e["loc"])) for e in exc.errors()})[:5]
            raise PeerUnavailable(f"{name}: not a {model.__name__} ({', '.join(where)})") from None

    async def reasons(self, practice_id: str, conversation_id: uuid.UUID) -> ReasonsOffer:
        """What the messenger offers in this conversation now, from the router."""
        body = await self._get(
            self.settings.router_url,
            "router",
            f"/internal/practices/{practice_id}/reasons",
            {"conversation_id": str(conversation_id)},
            ReasonsOffer,
        )
        if body is None:
            raise PeerUnavailable("router: no answer about reasons")
        return body

    async def office(self, practice_id: str) -> PracticeOffice:
        """Hours and response target from the router (X-PATIENTPAGE-1)."""
        body = await self._get(
            self.settings.router_url,
            "router",
            f"/internal/practices/{practice_id}/office",
            {},
            PracticeOffice,
        )
        if body is None:
            raise PeerUnavailable("router: no answer about the office")
        return body

    async def patients_by_contact(
        self, practice_id: str, *, phone: str | None = None, email: str | None = None
    ) -> list[PatientSummary]:
        params = {"phone": phone} if phone else {"email": email or ""}
        body = await self._get(
            self.settings.pm_sync_url,
            "pm-sync",
            f"/internal/practices/{practice_id}/patients",
            params,
            PatientMatches,
        )
        return body.patients if body is not None else []

    async def notice_language(self, practice_id: str, email: str) -> Language:
        """The language of an automatic notice to this address (X-LANG-5): English when
        pm-sync cannot be asked (the notice still goes)."""
        try:
            patients = await self.patients_by_contact(practice_id, email=email)
        except PeerUnavailable as exc:
            log.warning("notice_language_unavailable", practice_id=practice_id, error=str(exc))
            return "en"
        return notice_language(patients)

    async def patient(self, practice_id: str, patient_id: str) -> PatientPanel | None:
        return await self._get(
            self.settings.pm_sync_url,
            "pm-sync",
            f"/internal/practices/{practice_id}/patients/{patient_id}",
            {},
            PatientPanel,
        )
