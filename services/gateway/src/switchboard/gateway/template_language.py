"""Which body of a reply template a reply uses (X-LANG-4). Pure.

X-LANG-4 A template has a default body and may have one per language (keyed by the primary
  language subtag: "es"); a reply to a patient uses the body in the patient's preferred
  language from the PM system ("es-MX" counts as "es"), else the default body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# A primary language subtag (BCP 47 / ISO 639): two or three letters.
LANGUAGE_KEY = re.compile(r"^[a-z]{2,3}$")
MAX_LANGUAGES = 12


def primary_language(tag: str | None) -> str | None:
    """ "es-MX" -> "es"; None or nothing usable -> None."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if LANGUAGE_KEY.match(primary) else None


def body_for(
    default: str, bodies: Mapping[str, str] | None, language: str | None
) -> tuple[str, str | None]:
    """(body, its language): the body in `language` when the template has one, else
    (default, None)."""
    key = primary_language(language)
    own = (bodies or {}).get(key) if key else None
    return (own, key) if own else (default, None)
