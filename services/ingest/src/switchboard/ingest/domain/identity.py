"""The patient page's identity check: name and date of birth against the practice's
patients who use the phone (messenger) or the address (secure email). Pure; the limit on
failed attempts is in sign_in_limit.py (PostgreSQL, shared by replicas)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date

from switchboard.events.internal.pm_sync import PatientSummary


def name_key(name: str) -> str:
    """Case, accents, hyphens and spacing do not matter: "José  María" == "jose-maria"."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("-", " ").replace("'", "").replace("\u2019", "")
    return " ".join(plain.casefold().split())


def matching_patients(
    candidates: Iterable[PatientSummary], given_name: str, family_name: str, birth_date: date
) -> list[str]:
    """Ids of the candidates with this name and date of birth."""
    given, family = name_key(given_name), name_key(family_name)
    found = []
    for c in candidates:
        if c.birth_date != birth_date:
            continue
        if name_key(c.given_name) != given or name_key(c.family_name) != family:
            continue
        if c.patient_id not in found:
            found.append(c.patient_id)
    return found
