"""Answers of the router's and pm-sync's internal APIs for stand-ins, built through the typed
models both sides use (`switchboard.events.internal`), so a stand-in cannot answer what the
real peer never would. Each returns the JSON body (a dict)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from switchboard.events.internal.pm_sync import PatientPanel, PatientSummary
from switchboard.events.internal.router import ReasonsOffer


def patient(
    patient_id: str, given_name: str, family_name: str, birth_date: str, **more: Any
) -> dict[str, Any]:
    """A PatientSummary: phones, emails, preferred_language... default to none."""
    fields = {"age": None, "phones": [], "emails": [], "preferred_language": None}
    fields |= {"timezone": None} | more
    return PatientSummary(
        patient_id=patient_id,
        given_name=given_name,
        family_name=family_name,
        birth_date=birth_date,  # type: ignore[arg-type]  # validated from its ISO text
        **fields,
    ).model_dump(mode="json")


def panel(summary: dict[str, Any]) -> dict[str, Any]:
    """The patient panel of a summary, with no care team and no appointments."""
    return PatientPanel.model_validate(
        summary
        | {
            "local_time": datetime.now(UTC),
            "care_team": [],
            "primary_contact": None,
            "encounters": [],
            "next_appointment": None,
        }
    ).model_dump(mode="json")


def reasons_offer(
    show_picker: bool = False,
    why: str = "assigned",
    reasons: list[dict[str, str]] | None = None,
    current_reason: str | None = None,
) -> dict[str, Any]:
    """The router's ReasonsOffer with reason routing on; the catalogue is what is offered."""
    offered = [r | {"label": r.get("label", r["code"])} for r in reasons or []]
    return ReasonsOffer.model_validate(
        {
            "reason_routing": True,
            "location_routing": False,
            "show_picker": show_picker,
            "why": why,
            "reasons": offered,
            "catalogue": offered,
            "current_reason": current_reason,
        }
    ).model_dump(mode="json")
