"""The state a message met, as JSON stored beside its decision, and back (X-WHATIF-1). Pure.

A what-if replays past messages through `decide` against the conversation and patient state
each one met live, which the log alone cannot give cheaply (it would mean replaying every
PM and action event since the start).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from switchboard.router.model import (
    ConversationState,
    InboundMessage,
    NextAppointment,
    PatientState,
)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def state_inputs(
    message: InboundMessage, conversation: ConversationState | None, patient: PatientState | None
) -> dict[str, Any]:
    out: dict[str, Any] = {"patient_id": message.patient_id, "conversation": None, "patient": None}
    if conversation is not None:
        c = conversation
        out["conversation"] = {
            "reason": c.reason,
            "reason_set_at": _time(c.reason_set_at),
            "last_patient_message_at": _time(c.last_patient_message_at),
            "assigned": c.assigned,
            "status": c.status,
            "patient_read_last_practice_message": c.patient_read_last_practice_message,
            "patient_id": c.patient_id,
            "assignee": c.assignee,
            "location_id": c.location_id,
            "provider_id": c.provider_id,
            "shared_inboxes": list(c.shared_inboxes),
        }
    if patient is not None:
        a = patient.next_appointment
        out["patient"] = {
            "patient_id": patient.patient_id,
            "profile_location_id": patient.profile_location_id,
            "profile_provider_id": patient.profile_provider_id,
            "next_appointment": None
            if a is None
            else {
                "appointment_id": a.appointment_id,
                "start": a.start.isoformat(),
                "version": a.version,
                "location_id": a.location_id,
                "provider_id": a.provider_id,
                "event_id": str(a.event_id) if a.event_id else None,
            },
        }
    return out


def states_from(
    inputs: dict[str, Any], conversation_id: uuid.UUID
) -> tuple[str | None, ConversationState | None, PatientState | None]:
    """(resolved patient id, conversation state, patient state) from `state_inputs` JSON."""
    conversation = None
    if (c := inputs.get("conversation")) is not None:
        conversation = ConversationState(
            conversation_id=conversation_id,
            reason=c["reason"],
            reason_set_at=_parse(c["reason_set_at"]),
            last_patient_message_at=_parse(c["last_patient_message_at"]),
            assigned=c["assigned"],
            status=c["status"],
            patient_read_last_practice_message=c["patient_read_last_practice_message"],
            patient_id=c["patient_id"],
            assignee=c["assignee"],
            location_id=c["location_id"],
            provider_id=c["provider_id"],
            shared_inboxes=tuple(c["shared_inboxes"]),
        )
    patient = None
    if (p := inputs.get("patient")) is not None:
        a = p["next_appointment"]
        appointment = None
        if a is not None:
            appointment = NextAppointment(
                appointment_id=a["appointment_id"],
                start=datetime.fromisoformat(a["start"]),
                version=a["version"],
                location_id=a["location_id"],
                provider_id=a["provider_id"],
                event_id=uuid.UUID(a["event_id"]) if a["event_id"] else None,
            )
        patient = PatientState(
            p["patient_id"], p["profile_location_id"], p["profile_provider_id"], appointment
        )
    return inputs.get("patient_id"), conversation, patient
