"""FHIR R4 resource -> event mapping (X-FHIR-1): Patient, Appointment, Location, Practitioner,
CareTeam. Pure.

Resources are validated with the `fhir.resources.R4B` models (the installed fhir.resources 8
ships R4B, R5 and STU3; R4B is R4 plus a few additive fixes, identical for these five
resources). A resource that fails validation, or lacks what an event needs, raises
`FhirResourceError` with the reason, so the caller can dead-letter it while the rest of the
page goes on. Reasons name the element and the rule, never a value (no patient data in logs).

Staff user ids (care team, primary contact): a reference's `identifier` with system
`STAFF_USER_SYSTEM` gives the user id ("u-dr-1"); otherwise the id of the referenced
Practitioner / PractitionerRole is used as is.

Event ids are `deterministic_id(practice_id, "fhir", type, id, versionId or lastUpdated)`:
polling the same version again yields the same event, which collapses downstream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.careteam import CareTeam
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner

from switchboard.events import (
    AppointmentChanged,
    Event,
    LocationUpserted,
    PatientUpserted,
    ProviderUpserted,
    deterministic_id,
)
from switchboard.events.pm_extra import CareTeamUpserted
from switchboard.rules.contacts import normalize_email, normalize_phone

STAFF_USER_SYSTEM = "urn:switchboard:staff-user"
TIMEZONE_EXTENSIONS = frozenset(
    {
        "http://hl7.org/fhir/StructureDefinition/tz-code",
        "http://hl7.org/fhir/StructureDefinition/timezone",
    }
)
# Order matters for a full sync: referenced things first.
RESOURCE_TYPES: tuple[str, ...] = ("Location", "Practitioner", "Patient", "CareTeam", "Appointment")

_MODELS: dict[str, type[Any]] = {
    "Patient": Patient,
    "Appointment": Appointment,
    "Location": Location,
    "Practitioner": Practitioner,
    "CareTeam": CareTeam,
}
# FHIR Appointment.status -> ours. proposed / pending / waitlist are not appointments yet.
APPOINTMENT_STATUS = {
    "booked": "booked",
    "arrived": "arrived",
    "checked-in": "checked_in",
    "fulfilled": "fulfilled",
    "cancelled": "cancelled",
    "noshow": "noshow",
    "entered-in-error": "deleted",
}
_CHANGE_FOR_STATUS = {"cancelled": "cancelled", "noshow": "noshow", "deleted": "deleted"}
# CareTeam.participant.role codes meaning "primary contact" (SNOMED 446050000 = PCP).
PRIMARY_ROLE_CODES = frozenset({"446050000", "PCP", "PP", "primary-contact"})


class FhirResourceError(ValueError):
    """This resource cannot become an event; the text is the reason (no values)."""


# --- helpers ----------------------------------------------------------------------------------


def _ref(reference: Any) -> tuple[str, str] | None:
    """(type, id) of a Reference's literal reference, or None."""
    text = getattr(reference, "reference", None) if reference is not None else None
    if not text:
        return None
    parts = text.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) < 2 or not parts[-1] or not parts[-2]:
        return None
    return parts[-2], parts[-1]


def _staff_id(reference: Any) -> str | None:
    if reference is None:
        return None
    ident = getattr(reference, "identifier", None)
    if ident is not None and ident.system == STAFF_USER_SYSTEM and ident.value:
        return str(ident.value)
    target = _ref(reference)
    if target and target[0] in ("Practitioner", "PractitionerRole"):
        return target[1]
    return None


def _timezone(extensions: Sequence[Any] | None) -> str | None:
    for ext in extensions or ():
        if ext.url in TIMEZONE_EXTENSIONS:
            code = ext.valueCode or ext.valueString
            if code:
                try:
                    ZoneInfo(code)
                except (ZoneInfoNotFoundError, ValueError):
                    return None
                return str(code)
    return None


def _human_name(names: Sequence[Any] | None) -> Any | None:
    if not names:
        return None
    for use in ("official", "usual"):
        for n in names:
            if n.use == use:
                return n
    return names[0]


def _validation_reason(resource_type: str, exc: pydantic.ValidationError) -> str:
    parts = []
    for err in exc.errors(include_input=False, include_url=False)[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{resource_type}.{loc}: {err.get('msg', 'invalid')}" if loc else err["msg"])
    return "invalid FHIR R4 resource: " + "; ".join(parts)


def _envelope(practice_id: str, model: Any, resource_type: str) -> dict[str, Any]:
    meta = model.meta
    updated = meta.lastUpdated if meta is not None else None
    if updated is None:
        raise FhirResourceError(f"{resource_type}.meta.lastUpdated missing")
    if updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)
    version = meta.versionId if meta is not None else None
    event_id = deterministic_id(
        practice_id, "fhir", resource_type, model.id, version or updated.isoformat()
    )
    return {
        "event_id": event_id,
        "occurred_at": updated,
        "practice_id": practice_id,
        "correlation_id": event_id,
    }


def _version(model: Any) -> int:
    v = model.meta.versionId if model.meta is not None else None
    return int(v) if v and str(v).isdigit() else 0


# --- mapping ----------------------------------------------------------------------------------


def validate(resource: Mapping[str, Any]) -> Any:
    """The fhir.resources R4B model of `resource`; FhirResourceError when it is not valid."""
    if not isinstance(resource, Mapping):
        raise FhirResourceError("not a JSON object")
    resource_type = resource.get("resourceType")
    model_cls = _MODELS.get(str(resource_type))
    if model_cls is None:
        raise FhirResourceError(f"unsupported resourceType {resource_type!s:.40}")
    if not resource.get("id"):
        raise FhirResourceError(f"{resource_type}.id missing")
    try:
        return model_cls.model_validate(dict(resource))
    except pydantic.ValidationError as exc:
        raise FhirResourceError(_validation_reason(str(resource_type), exc)) from None
    except (TypeError, ValueError) as exc:  # the models raise some errors directly
        raise FhirResourceError(f"invalid FHIR R4 resource: {type(exc).__name__}") from None


def _patient(model: Any, practice_id: str) -> PatientUpserted:
    env = _envelope(practice_id, model, "Patient")
    name = _human_name(model.name)
    given = family = ""
    if name is not None:
        given = (name.given or [""])[0] or ""
        family = name.family or ""
        if not given and not family and name.text:
            family = name.text
    phones: list[str] = []
    emails: list[str] = []
    updated = env["occurred_at"]
    for cp in model.telecom or ():
        if cp.period is not None and cp.period.end is not None and _ended(cp.period.end, updated):
            continue
        if cp.system in ("phone", "sms") and (p := normalize_phone(cp.value)):
            phones.append(p)
        elif cp.system == "email" and (e := normalize_email(cp.value)):
            emails.append(e)
    language = None
    comms = sorted(model.communication or (), key=lambda c: not c.preferred)
    for comm in comms:
        coding = comm.language.coding or []
        code = next((c.code for c in coding if c.code), None)
        if code:
            language = str(code)
            break
    care_team = [s for ref in model.generalPractitioner or () if (s := _staff_id(ref))]
    care_team = list(dict.fromkeys(care_team))
    return PatientUpserted(
        **env,
        patient_id=model.id,
        given_name=given,
        family_name=family,
        birth_date=model.birthDate,
        phones=tuple(dict.fromkeys(phones)),
        emails=tuple(dict.fromkeys(emails)),
        preferred_language=language,
        timezone=_timezone(model.extension),
        care_team=tuple(care_team),
        primary_contact=care_team[0] if care_team else None,
        source_updated_at=updated,
    )


def _ended(end: Any, at: datetime) -> bool:
    """A Period.end (dateTime, or a partial date such as "2020-01-01") before `at`."""
    if isinstance(end, datetime):
        end_at = end if end.tzinfo is not None else end.replace(tzinfo=UTC)
        return end_at < at
    if isinstance(end, date):
        return end < at.date()
    return False


def _appointment(model: Any, practice_id: str) -> AppointmentChanged | None:
    status = APPOINTMENT_STATUS.get(model.status)
    if status is None:
        return None  # proposed / pending / waitlist: not on the schedule yet
    if model.start is None:
        raise FhirResourceError("Appointment.start missing")
    env = _envelope(practice_id, model, "Appointment")
    patient_id = location_id = provider_id = None
    for part in model.participant or ():
        if part.status == "declined":
            continue
        target = _ref(part.actor)
        if target is None:
            continue
        kind, ident = target
        if kind == "Patient" and patient_id is None:
            patient_id = ident
        elif kind == "Location" and location_id is None:
            location_id = ident
        elif kind in ("Practitioner", "PractitionerRole") and provider_id is None:
            provider_id = ident
    if patient_id is None:
        raise FhirResourceError("Appointment.participant: no Patient actor")
    version = _version(model)
    change = _CHANGE_FOR_STATUS.get(status, "booked" if version == 1 else "modified")
    start = model.start if model.start.tzinfo is not None else model.start.replace(tzinfo=UTC)
    end = model.end
    if end is not None and end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    return AppointmentChanged(
        **env,
        appointment_id=model.id,
        patient_id=patient_id,
        change=change,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        start=start,
        end=end,
        location_id=location_id,
        provider_id=provider_id,
        source_updated_at=env["occurred_at"],
        source_version=version,
    )


def _location(model: Any, practice_id: str) -> LocationUpserted:
    return LocationUpserted(
        **_envelope(practice_id, model, "Location"),
        location_id=model.id,
        name=model.name or (model.alias[0] if model.alias else None) or model.id,
        active=model.status in (None, "active"),
        timezone=_timezone(model.extension),
    )


def _practitioner(model: Any, practice_id: str) -> ProviderUpserted:
    name = _human_name(model.name)
    display = ""
    if name is not None:
        display = name.text or " ".join(
            p for p in [*(name.prefix or []), *(name.given or []), name.family or ""] if p
        )
    return ProviderUpserted(
        **_envelope(practice_id, model, "Practitioner"),
        provider_id=model.id,
        name=display or model.id,
        active=model.active is not False,
    )


def _care_team(model: Any, practice_id: str) -> CareTeamUpserted:
    env = _envelope(practice_id, model, "CareTeam")
    subject = _ref(model.subject)
    if subject is None or subject[0] != "Patient":
        raise FhirResourceError("CareTeam.subject must reference a Patient")
    members: list[str] = []
    primary: str | None = None
    for part in model.participant or ():
        period = part.period
        if period is not None and period.end is not None and _ended(period.end, env["occurred_at"]):
            continue
        staff = _staff_id(part.member)
        if staff is None:
            continue
        members.append(staff)
        codes = {c.code for role in part.role or () for c in role.coding or () if c.code}
        texts = {(role.text or "").strip().lower() for role in part.role or ()}
        if primary is None and (codes & PRIMARY_ROLE_CODES or "primary contact" in texts):
            primary = staff
    return CareTeamUpserted(
        **env,
        care_team_id=model.id,
        patient_id=subject[1],
        members=tuple(dict.fromkeys(members)),
        primary_contact=primary,
        active=model.status in (None, "proposed", "active"),
        source_updated_at=env["occurred_at"],
    )


_MAPPERS: dict[str, Callable[[Any, str], Event | None]] = {
    "Patient": _patient,
    "Appointment": _appointment,
    "Location": _location,
    "Practitioner": _practitioner,
    "CareTeam": _care_team,
}


def map_resource(resource: Mapping[str, Any], practice_id: str) -> Event | None:
    """One FHIR R4 resource -> its event; None when it is valid but not an event (a proposed
    appointment). Raises FhirResourceError with the reason otherwise."""
    model = validate(resource)
    try:
        return _MAPPERS[model.get_resource_type()](model, practice_id)
    except pydantic.ValidationError as exc:
        raise FhirResourceError(_validation_reason(model.get_resource_type(), exc)) from None
