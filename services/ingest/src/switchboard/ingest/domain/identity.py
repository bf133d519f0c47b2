"""The patient page's identity check: name and date of birth against the practice's
patients who use the phone (messenger) or the address (secure email). Pure; the limit on
failed attempts is in sign_in_limit.py (PostgreSQL, shared by replicas)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any


def name_key(name: str) -> str:
    """Case, accents, hyphens and spacing do not matter: "José  María" == "jose-maria"."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("-", " ").replace("'", "").replace("\u2019", "")
    return " ".join(plain.casefold().split())


def matching_patients(
    candidates: Iterable[Mapping[str, Any]], given_name: str, family_name: str, birth_date: date
) -> list[str]:
    """Ids of the candidates with this name and date of birth."""
    given, family = name_key(given_name), name_key(family_name)
    found = []
    for c in candidates:
        dob = c.get("birth_date")
        if dob is None or str(dob) != birth_date.isoformat():
            continue
        if name_key(str(c.get("given_name", ""))) != given:
            continue
        if name_key(str(c.get("family_name", ""))) != family:
            continue
        pid = str(c.get("patient_id"))
        if pid not in found:
            found.append(pid)
    return found
