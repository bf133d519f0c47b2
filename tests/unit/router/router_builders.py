"""Builders for router unit tests, shaped after seed 000's own example practice.

Medical assistants at the Manhattan location subscribe to Prescriptions / Refills and
Test / Lab Results there; front-line staff take Other, Location unknown and admin topics.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from switchboard.router.model import (
    ConversationState,
    InboundMessage,
    NextAppointment,
    PatientState,
    RouterState,
    RoutingSettings,
    Subscription,
)

PRACTICE = "manhattan-medical"
T0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)

MANHATTAN = "loc-manhattan"
BROOKLYN = "loc-brooklyn"
QUEENS = "loc-queens"
DR_LEE = "prov-lee"
DR_PATEL = "prov-patel"

PATIENT = "pat-1"
CONVERSATION = uuid.UUID("00000000-0000-0000-0000-0000000000c1")
TEXTABLE = "+12125550100"

# Manhattan medical assistants (seed 000, step 4).
MA_1 = Subscription(
    "ma-manhattan-1",
    reasons={"prescriptions_refills", "test_lab_results"},
    locations={MANHATTAN},
    providers={DR_LEE},
)
MA_2 = Subscription(
    "ma-manhattan-2",
    reasons={"prescriptions_refills", "test_lab_results"},
    locations={MANHATTAN},
    providers={DR_PATEL},
)
# Front line: Other + Location unknown, admin matters, and every location (seed 000, step 4).
FRONT_DESK = Subscription(
    "front-desk",
    reasons={"other", "appointments", "billing", "referrals"},
    locations={MANHATTAN, BROOKLYN, "location_unknown"},
    providers={DR_LEE, DR_PATEL, "provider_unknown"},
    inboxes={"unassigned"},
)
BILLING = Subscription(
    "billing-1",
    reasons={"billing"},
    locations={MANHATTAN, BROOKLYN, QUEENS, "location_unknown"},
    providers={DR_LEE, DR_PATEL, "provider_unknown"},
)
TEAM = (MA_1, MA_2, FRONT_DESK, BILLING)


def settings(**overrides: object) -> RoutingSettings:
    values: dict[str, object] = {
        "practice_id": PRACTICE,
        "version": 7,
        "reason_routing": True,
        "location_routing": True,
        "provider_routing": False,
    }
    values.update(overrides)
    return RoutingSettings(**values)  # type: ignore[arg-type]


def message(
    channel: str = "web_chat",
    at: datetime = T0,
    reason: str | None = None,
    extension: str | None = None,
    patient: str | None = PATIENT,
    textable: bool = False,
    conversation: uuid.UUID = CONVERSATION,
    n: int = 1,
) -> InboundMessage:
    return InboundMessage(
        message_id=uuid.UUID(int=n),
        conversation_id=conversation,
        practice_id=PRACTICE,
        channel=channel,  # type: ignore[arg-type]
        recipient=TEXTABLE if channel == "sms" else "portal",
        received_at=at,
        patient_id=patient,
        selected_reason=reason,
        voicemail_extension=extension,
        is_to_textable_number=textable,
    )


def appointment(
    location: str | None = MANHATTAN,
    provider: str | None = DR_LEE,
    start: datetime = T0 + 72 * HOUR,
    appointment_id: str = "appt-1",
    version: int = 3,
) -> NextAppointment:
    return NextAppointment(
        appointment_id=appointment_id,
        start=start,
        version=version,
        location_id=location,
        provider_id=provider,
        event_id=uuid.UUID(int=0xA11),
    )


def patient(
    profile: str | None = None,
    next_appointment: NextAppointment | None = None,
    profile_provider: str | None = None,
) -> PatientState:
    return PatientState(PATIENT, profile, profile_provider, next_appointment)


def conversation(
    reason: str | None = None,
    last: datetime | None = None,
    status: str = "closed",
    assigned: bool = False,
    read: bool = True,
    **more: object,
) -> ConversationState:
    return ConversationState(
        CONVERSATION,
        reason=reason,
        reason_set_at=last,
        last_patient_message_at=last,
        assigned=assigned,
        status=status,  # type: ignore[arg-type]
        patient_read_last_practice_message=read,
        patient_id=PATIENT,
        **more,  # type: ignore[arg-type]
    )


def state(**overrides: object) -> RouterState:
    values: dict[str, object] = {"subscriptions": TEAM, "subscriptions_version": 12}
    values.update(overrides)
    return RouterState(**values)  # type: ignore[arg-type]


def rules(decision: object) -> list[str]:
    return [r.rule for r in decision.explanation]  # type: ignore[attr-defined]
