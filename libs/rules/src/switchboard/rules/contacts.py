"""How patients' phone numbers and email addresses are normalised and compared. Pure.

Every service that matches a sender to a patient uses these: pm-sync normalises what the
practice-management system sends, ingest and the router key their contact tables with
`contact_key`, the gateway normalises what staff type into a search (I-UNREC-1, I-THREAD-1).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import phonenumbers

DEFAULT_REGION = "US"
_POSSIBLE = phonenumbers.ValidationResult.IS_POSSIBLE


def normalize_phone(
    raw: str | None, region: str = DEFAULT_REGION, *, require_valid: bool = True
) -> str | None:
    """A phone number in E.164 (`+12125550101`), or None when it is not a valid number.
    `region` is the country of a number written without one.

    With `require_valid=False` a number only needs a possible length for its country (not
    one that is assigned): staff search conversations by senders' numbers, which are stored
    as the SMS provider gave them and need not be valid ones. A local-only number (no area
    code) is never enough."""
    if not raw or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if require_valid:
        if not phonenumbers.is_valid_number(number):
            return None
    elif phonenumbers.is_possible_number_with_reason(number) != _POSSIBLE:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str | None) -> str | None:
    """Trimmed, lower-cased address (a `mailto:` prefix dropped), or None when it does not
    look like one."""
    if not raw:
        return None
    value = raw.strip().lower()
    if value.startswith("mailto:"):
        value = value[len("mailto:") :]
    local, sep, domain = value.partition("@")
    if not sep or not local or "." not in domain or any(c.isspace() for c in value):
        return None
    return value


def contact_key(value: str) -> str:
    """How contacts are compared: emails case-insensitively, phone numbers as given (they
    arrive in E.164 from the PM system, normalised by `normalize_phone`, and from the SMS
    provider)."""
    value = value.strip()
    return value.lower() if "@" in value else value


def contact_keys(contacts: Iterable[str]) -> tuple[str, ...]:
    """A patient's contacts (phones and emails of one PatientUpserted) as sorted, distinct
    keys; blank ones are not contacts."""
    return tuple(sorted({contact_key(c) for c in contacts if c.strip()}))


def recognized(owners: int) -> bool:
    """A sender is recognized when exactly one patient of the practice uses the contact;
    none or several (a family phone) leave the conversation unrecognized (I-UNREC-1)."""
    return owners == 1


def replaces(known_updated_at: datetime | None, new_updated_at: datetime) -> bool:
    """Whether a PatientUpserted stamped `new_updated_at` replaces the patient's known
    record: unless it is older (a late redelivery). On an equal stamp the later one in the
    log wins. A patient's upserts share one partition (their key), so every consumer meets
    them in the same order and decides a tie alike: ingest and the router (contacts), the
    inbox projection (the patient row) and pm-sync (its patient read model and panel)."""
    return known_updated_at is None or known_updated_at <= new_updated_at
