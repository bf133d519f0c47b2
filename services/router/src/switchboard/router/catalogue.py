"""The reason catalogue (R-REASON-1) and the names of the catch-all buckets (R-SUB-1).

Each reason has a one-line description the patient page shows under it (X-PATIENTPAGE-1);
an added reason without one gets none, and Other's says what to do when nothing fits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    label: str
    description: str = ""


OTHER = "other"
# Subscribable buckets for messages with no location / no provider (R-SUB-1).
LOCATION_UNKNOWN = "location_unknown"
PROVIDER_UNKNOWN = "provider_unknown"


OTHER_DESCRIPTION = "Anything else, or if you are not sure: your care team will direct it."

DEFAULT_REASONS: tuple[Reason, ...] = (
    Reason(
        "prescriptions_refills",
        "Prescriptions / Refills",
        "A refill, a new prescription, or a question about a medication you take.",
    ),
    Reason(
        "test_lab_results",
        "Test / Lab Results",
        "Questions about blood work, imaging or other test results.",
    ),
    Reason("appointments", "Appointments", "Book, move or cancel a visit, or ask about one."),
    Reason("billing", "Billing", "Bills, payments, insurance and costs."),
    Reason("referrals", "Referrals", "A referral to a specialist, or its status."),
    Reason(
        "medical_question",
        "Medical Question",
        "A non-urgent question about symptoms, a condition or your care.",
    ),
    Reason(OTHER, "Other", OTHER_DESCRIPTION),
)
DEFAULT_CODES: frozenset[str] = frozenset(r.code for r in DEFAULT_REASONS)


def catalogue(
    extra_reasons: Mapping[str, str] | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> tuple[Reason, ...]:
    """Default reasons plus those platform operators added, Other last.

    An extra reason cannot reword a default one (practices and operators may add reasons,
    never rename the defaults), so a colliding code keeps its default label. A practice's
    own `descriptions` replace the default ones (X-PATIENTPAGE-1).
    """
    defaults = [r for r in DEFAULT_REASONS if r.code != OTHER]
    added = [
        Reason(code, label)
        for code, label in sorted((extra_reasons or {}).items())
        if code not in DEFAULT_CODES
    ]
    own = descriptions or {}
    return tuple(
        Reason(r.code, r.label, own.get(r.code, r.description))
        for r in (*defaults, *added, Reason(OTHER, "Other", OTHER_DESCRIPTION))
    )


def is_known_reason(code: str, extra_reasons: Mapping[str, str] | None = None) -> bool:
    return code in DEFAULT_CODES or (extra_reasons is not None and code in extra_reasons)
